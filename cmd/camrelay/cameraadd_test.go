package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camrelay/camrelay/internal/config"
)

func TestCameraAddPrintsBothSidesWithAFreshToken(t *testing.T) {
	env := func(k string) string {
		if k == "CAMRELAY_WIFI_PASSWORD" {
			return `pa"ss\word`
		}
		return ""
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"camrelay", "camera", "add", "back-yard", "--host", "10.0.0.2", "--wifi-ssid", "home"}, env, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	text := out.String()
	yamlPart, header, ok := strings.Cut(text, "// firmware/camrelay/config.h")
	if !ok {
		t.Fatalf("no config.h in:\n%s", text)
	}
	var token string
	for _, line := range strings.Split(yamlPart, "\n") {
		if v, ok := strings.CutPrefix(line, "export CAMRELAY_TOKEN_BACK_YARD="); ok {
			token = v
		}
	}
	if len(token) != 43 {
		t.Fatalf("token %q is not 32 random bytes in base64url", token)
	}
	for _, want := range []string{`#define CAMRELAY_TOKEN "` + token + `"`, `#define CAMRELAY_CAMERA_ID "back-yard"`,
		`#define CAMRELAY_GATEWAY_HOST "10.0.0.2"`, `#define CAMRELAY_WIFI_PASSWORD "pa\"ss\\word"`, `#define CAMRELAY_GATEWAY_PORT 8080`} {
		if !strings.Contains(header, want) {
			t.Errorf("config.h lacks %s:\n%s", want, header)
		}
	}

	// The gateway side loads as a config with the token from the environment.
	cfgText := "cameras:\n" + strings.SplitN(yamlPart, "\n", 2)[1]
	cfgText = cfgText[:strings.Index(cfgText, "\n\n")+1]
	cfg, err := config.Parse("added.yaml", []byte(cfgText), func(k string) string {
		if k == "CAMRELAY_TOKEN_BACK_YARD" {
			return token
		}
		return ""
	})
	if err != nil {
		t.Fatalf("the printed config entry does not load: %v\n%s", err, cfgText)
	}
	if c, ok := cfg.Camera("back-yard"); !ok || c.Token != token || c.Source != "push" {
		t.Errorf("loaded %+v", c)
	}

	// The board side compiles: the sketch, built on the host against its
	// stubs, with exactly this config.h.
	path := filepath.Join(t.TempDir(), "config.h")
	if err := os.WriteFile(path, []byte("// firmware/camrelay/config.h"+header), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("make", "-s", "-C", "../../firmware", "check-config", "CONFIG="+path).CombinedOutput(); err != nil {
		t.Errorf("the printed config.h does not compile the sketch: %v\n%s", err, b)
	}

	// Ids the gateway would refuse are refused here too.
	if err := run(context.Background(), []string{"camrelay", "camera", "add", "Back Yard"}, env, io.Discard, io.Discard); err == nil {
		t.Error("an invalid id was accepted")
	}
}
