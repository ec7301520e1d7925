package config

import (
	"strings"
	"testing"
	"time"
)

func TestSecurityKeysAreRead(t *testing.T) {
	const bcryptHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	tokenHash := "sha256:" + strings.Repeat("ab", 32)
	file := `
admin_token_hash: ` + tokenHash + `
viewers:
  token: ${VIEW}
  users:
    - name: homeassistant
      password: ${HA_PASS}
    - name: vlc
      password_hash: "` + bcryptHash + `"
trusted_proxies: [127.0.0.1, "10.0.0.0/8", "::1"]
tls_cert: /etc/camrelay/cert.pem
tls_key: /etc/camrelay/key.pem
limits:
  max_conns_per_client: 16
  max_auth_failures: 5
  auth_failure_forgive: 30s
cameras:
  - id: front
    source: push
    token_hash: ` + tokenHash + `
`
	env := map[string]string{"VIEW": "view-secret", "HA_PASS": "ha-secret"}
	c, err := Parse("cams.yaml", []byte(file), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Viewers{Token: "view-secret", Users: []User{{Name: "homeassistant", Password: "ha-secret"}, {Name: "vlc", PasswordHash: bcryptHash}}}
	if c.Viewers.Token != want.Token || len(c.Viewers.Users) != 2 || c.Viewers.Users[0] != want.Users[0] || c.Viewers.Users[1] != want.Users[1] {
		t.Errorf("viewers = %+v, want %+v", c.Viewers, want)
	}
	if c.AdminTokenHash != tokenHash || c.Cameras[0].TokenHash != tokenHash {
		t.Errorf("hashes: admin %q, camera %q", c.AdminTokenHash, c.Cameras[0].TokenHash)
	}
	if len(c.TrustedProxies) != 3 || c.TLSCert == "" || c.TLSKey == "" {
		t.Errorf("trusted_proxies %v, tls %q %q", c.TrustedProxies, c.TLSCert, c.TLSKey)
	}
	if l := c.Limits; l.MaxConnsPerClient != 16 || l.MaxAuthFailures != 5 || l.AuthFailureForgive != 30*time.Second {
		t.Errorf("limits = %+v", l)
	}
}

func TestSecurityProblems(t *testing.T) {
	good := "sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		name, yaml, key, msg string
	}{
		{"token and hash", "admin_token: a\nadmin_token_hash: " + good + "\n", "admin_token_hash", "is set together with admin_token"},
		{"bad token hash", "admin_token_hash: sha256:xyz\n", "admin_token_hash", "camrelay hash token"},
		{"viewer without password", "viewers:\n  users:\n    - name: a\n", "viewers.users[0].password", "is required"},
		{"viewer with colon", "viewers:\n  users:\n    - name: a:b\n      password: x\n", "viewers.users[0].name", "':'"},
		{"duplicate viewer", "viewers:\n  users:\n    - {name: a, password: x}\n    - {name: a, password: y}\n", "viewers.users[1].name", "duplicate"},
		{"md5 password hash", "viewers:\n  users:\n    - {name: a, password_hash: 5f4dcc3b5aa765d61d8327deb882cf99}\n", "viewers.users[0].password_hash", "camrelay hash password"},
		{"unknown viewer key", "viewers:\n  tokn: x\n", "viewers.tokn", `did you mean "token"?`},
		{"metrics token and hash", "metrics_token: m\nmetrics_token_hash: " + good + "\n", "metrics_token_hash", "together with metrics_token"},
		{"bad proxy", "trusted_proxies: [proxy.lan]\n", "trusted_proxies[0]", "not an IP address or CIDR"},
		{"cert without key", "tls_cert: c.pem\n", "tls_key", "HTTPS takes both"},
		{"camera token and hash", "cameras:\n  - id: c\n    source: push\n    token: t\n    token_hash: " + good + "\n", "cameras[0].token_hash", "together with token"},
		{"hash on a demo camera", "cameras:\n  - id: c\n    source: demo\n    token_hash: " + good + "\n", "cameras[0].token_hash", "not used with source: demo"},
		{"zero failures", "limits:\n  max_auth_failures: 0\n", "limits.max_auth_failures", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("cams.yaml", []byte(tt.yaml), nil)
			if err == nil {
				t.Fatal("accepted")
			}
			var found bool
			for _, p := range err.(*Error).Problems {
				if p.Key == tt.key && strings.Contains(p.Msg, tt.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems:\n%v\nwant one at %s containing %q", err, tt.key, tt.msg)
			}
		})
	}
}

func TestAPushCameraMayHaveOnlyATokenHash(t *testing.T) {
	_, err := Parse("cams.yaml", []byte("cameras:\n  - id: c\n    source: push\n    token_hash: sha256:"+strings.Repeat("0", 64)+"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecurityHashesAndPasswordsNeverAppearInErrors(t *testing.T) {
	file := "viewers:\n  token: \"sec ret\"\n  users:\n    - {name: a, password: TOPSECRETPW, password_hash: TOPSECRETHASH}\nadmin_token_hash: TOPSECRETADMIN\n"
	_, err := Parse("cams.yaml", []byte(file), nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, s := range []string{"sec ret", "TOPSECRETPW", "TOPSECRETHASH", "TOPSECRETADMIN"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows %q:\n%v", s, err)
		}
	}
}
