package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/camrelay/camrelay/internal/config"
)

// clusterEnv is what the cluster deploy files take from the environment.
var clusterEnv = map[string]string{
	"CAMRELAY_GATEWAY": "gw-a", "POD_NAME": "camrelay-5d8f9c7b4-x2k9p", "CAMRELAY_ADMIN_TOKEN": "adm1n",
	"CAMRELAY_NATS_PASSWORD": "pw", "FRONT_TOKEN": "front-token",
}

// checkClusterConfig loads a gateway config of the cluster deploy files and
// checks it joins a cluster whose NATS server takes its largest frames.
func checkClusterConfig(t *testing.T, name string, data []byte, maxPayload int32) {
	t.Helper()
	cfg, err := config.Parse(name, data, func(k string) string { return clusterEnv[k] })
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if cfg.Cluster == nil || cfg.Cluster.NATSURL != "nats://nats:4222" || cfg.Cluster.Password != "pw" {
		t.Fatalf("%s: cluster = %+v, want nats://nats:4222 with the password from the environment", name, cfg.Cluster)
	}
	if int64(maxPayload) < cfg.Limits.MaxFrameBytes+256 {
		t.Errorf("%s: frames of %d bytes do not fit the NATS server's max_payload %d", name, cfg.Limits.MaxFrameBytes, maxPayload)
	}
}

// natsConfig parses a NATS server config as nats-server does.
func natsConfig(t *testing.T, name string, data []byte) *natsserver.Options {
	t.Helper()
	t.Setenv("CAMRELAY_NATS_PASSWORD", "pw")
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := natsserver.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !o.JetStream {
		t.Errorf("%s: JetStream is off; the camera directory needs it", name)
	}
	if o.Password != "pw" {
		t.Errorf("%s: password not taken from $CAMRELAY_NATS_PASSWORD", name)
	}
	return o
}

func TestClusterComposeFilesAgree(t *testing.T) {
	read := func(elem ...string) []byte {
		b, err := os.ReadFile(deployPath(t, elem...))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	nats := natsConfig(t, "deploy/cluster/nats.conf", read("cluster", "nats.conf"))
	checkClusterConfig(t, "deploy/cluster/camrelay.yaml", read("cluster", "camrelay.yaml"), nats.MaxPayload)

	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(read("compose.cluster.yaml"), &compose); err != nil {
		t.Fatalf("compose.cluster.yaml: %v", err)
	}
	caddy := string(read("cluster", "Caddyfile"))
	for _, gw := range []string{"gw-a", "gw-b", "gw-c"} {
		s, ok := compose.Services[gw]
		if !ok {
			t.Fatalf("compose.cluster.yaml has no %s service", gw)
		}
		if s.Environment["CAMRELAY_GATEWAY"] != gw {
			t.Errorf("%s is named %q in the cluster, want its service name", gw, s.Environment["CAMRELAY_GATEWAY"])
		}
		if !strings.Contains(caddy, gw+":8080") {
			t.Errorf("the Caddyfile does not balance over %s:8080", gw)
		}
	}
	for _, s := range []string{"nats", "lb"} {
		if _, ok := compose.Services[s]; !ok {
			t.Errorf("compose.cluster.yaml has no %s service", s)
		}
	}
}

func TestClusterKubernetesManifestsAgree(t *testing.T) {
	docs := func(file string) map[string]map[string]any {
		f, err := os.Open(deployPath(t, "k8s", file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out := map[string]map[string]any{}
		dec := yaml.NewDecoder(f)
		for {
			var d map[string]any
			if err := dec.Decode(&d); err != nil {
				break
			}
			out[d["kind"].(string)] = d
		}
		return out
	}
	data := func(cm map[string]any, key string) []byte {
		return []byte(cm["data"].(map[string]any)[key].(string))
	}
	n, c := docs("nats.yaml"), docs("camrelay.yaml")
	for _, kind := range []string{"ConfigMap", "StatefulSet", "Service"} {
		if n[kind] == nil {
			t.Fatalf("deploy/k8s/nats.yaml has no %s", kind)
		}
	}
	for _, kind := range []string{"ConfigMap", "Deployment", "Service"} {
		if c[kind] == nil {
			t.Fatalf("deploy/k8s/camrelay.yaml has no %s", kind)
		}
	}
	nats := natsConfig(t, "deploy/k8s/nats.yaml nats.conf", data(n["ConfigMap"], "nats.conf"))
	checkClusterConfig(t, "deploy/k8s/camrelay.yaml camrelay.yaml", data(c["ConfigMap"], "camrelay.yaml"), nats.MaxPayload)
}
