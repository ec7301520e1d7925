package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for 127.0.0.1 named cn.
func writePair(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func served(t *testing.T, r *Reloader) string {
	t.Helper()
	c, _ := r.GetCertificate(nil)
	return c.Leaf.Subject.CommonName
}

func TestReloadSwapsTheCertificateAndKeepsTheOldOneOnError(t *testing.T) {
	dir := t.TempDir()
	cf, kf := writePair(t, dir, "first")
	r, err := New(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	if got := served(t, r); got != "first" {
		t.Fatalf("serves %q, want first", got)
	}
	writePair(t, dir, "second")
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
