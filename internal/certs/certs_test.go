package certs

import (
	"os"
	"testing"

	"github.com/camrelay/camrelay/internal/certs/certstest"
)

func served(t *testing.T, r *Reloader) string {
	t.Helper()
	c, _ := r.GetCertificate(nil)
	return c.Leaf.Subject.CommonName
}

func TestReloadSwapsTheCertificateAndKeepsTheOldOneOnError(t *testing.T) {
	dir := t.TempDir()
	cf, kf := certstest.WritePair(t, dir, "first")
	r, err := New(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	if got := served(t, r); got != "first" {
		t.Fatalf("serves %q, want first", got)
	}
	certstest.WritePair(t, dir, "second")
	if _, err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := served(t, r); got != "second" {
		t.Fatalf("after reload serves %q, want second", got)
	}
	os.WriteFile(kf, []byte("not a key"), 0o600)
	if _, err := r.Reload(); err == nil {
		t.Fatal("a broken key reloads without error")
	}
	if got := served(t, r); got != "second" {
		t.Fatalf("after a failed reload serves %q, want second", got)
	}
}

func TestNewFailsOnMissingFiles(t *testing.T) {
	if _, err := New("/nonexistent/cert.pem", "/nonexistent/key.pem"); err == nil {
		t.Fatal("no error")
	}
}
