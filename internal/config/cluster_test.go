package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClusterIsOffUnlessConfigured(t *testing.T) {
	c, err := Parse("c.yaml", []byte("cameras: [{id: demo, source: demo}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster != nil {
		t.Errorf("Cluster = %+v without a cluster: key, want nil", c.Cluster)
	}
}

func TestClusterKeysAndDefaults(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("c.yaml", []byte(`
cluster:
  nats_url: nats://a:4222, tls://b:4222
  name: gw-a
  namespace: site_1
  heartbeat: 500ms
  user: camrelay
  password: ${NATS_PASSWORD}
  ca_file: `+ca+`
`), env(map[string]string{"NATS_PASSWORD": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Cluster{NATSURL: "nats://a:4222, tls://b:4222", Name: "gw-a", Namespace: "site_1",
		Heartbeat: 500 * time.Millisecond, User: "camrelay", Password: "pw", CAFile: ca}
	if *c.Cluster != want {
		t.Errorf("Cluster = %+v, want %+v", *c.Cluster, want)
	}

	c, err = Parse("c.yaml", []byte("cluster: {nats_url: nats://nats:4222}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Namespace != "default" || c.Cluster.Heartbeat != 2*time.Second || !validName(c.Cluster.Name) {
		t.Errorf("defaults = %+v, want namespace default, heartbeat 2s and the host name as a valid name", *c.Cluster)
	}
}

func TestClusterProblemsNameFileLineAndKey(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"no url", "cluster:\n  name: a\n", "c.yaml:1: cluster.nats_url: is required"},
		{"bad scheme", "cluster:\n  nats_url: http://nats:4222\n", `c.yaml:2: cluster.nats_url: scheme "http"`},
		{"dotted name", "cluster:\n  nats_url: nats://n:4222\n  name: gw.a\n", `c.yaml:3: cluster.name: "gw.a" is not a valid name`},
		{"wildcard namespace", "cluster:\n  nats_url: nats://n:4222\n  namespace: '*'\n", `c.yaml:3: cluster.namespace:`},
		{"heartbeat", "cluster:\n  nats_url: nats://n:4222\n  heartbeat: 10ms\n", "c.yaml:3: cluster.heartbeat: 10ms is out of range"},
		{"user alone", "cluster:\n  nats_url: nats://n:4222\n  user: u\n", "c.yaml:3: cluster.user: user and password go together"},
		{"two auths", "cluster:\n  nats_url: nats://n:4222\n  token: t\n  user: u\n  password: p\n", "cluster.credentials: credentials, user/password and token are alternatives"},
		{"cert alone", "cluster:\n  nats_url: nats://n:4222\n  cert_file: /nonexistent.pem\n", "cluster.cert_file: cert_file and key_file go together"},
		{"missing ca", "cluster:\n  nats_url: nats://n:4222\n  ca_file: /nonexistent/ca.pem\n", `c.yaml:3: cluster.ca_file: cannot read "/nonexistent/ca.pem"`},
		{"typo", "cluster:\n  nats_url: nats://n:4222\n  nmae: a\n", `c.yaml:3: cluster.nmae: unknown key (did you mean "name"?)`},
		{"not a mapping", "cluster: nats://n:4222\n", "c.yaml:1: cluster: must be a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestClusterSecretsNeverAppearInErrors(t *testing.T) {
	_, err := Parse("c.yaml", []byte("cluster:\n  nats_url: nats://u:hunter2@n:4222 x\n  token: \"tok en-hunter3\"\n"), nil)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range []string{"hunter2", "hunter3"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds a secret", err)
		}
	}
}
