package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Cluster bounds for the directory heartbeat: often enough that a dead
// gateway's cameras move within seconds, rarely enough that a thousand
// cameras do not flood the NATS server with key-value writes.
const (
	defaultHeartbeat = 2 * time.Second
	minHeartbeat     = 100 * time.Millisecond
	maxHeartbeat     = time.Minute
	defaultNamespace = "default"
	maxNameLen       = 64
)

// Cluster joins several gateways into one over a NATS server: frames,
// status, the camera directory and control travel between them. A nil
// *Cluster in Config means a single gateway; nothing of NATS runs then.
type Cluster struct {
	// NATSURL is the NATS server, or a comma-separated list of them
	// (nats://, tls://, ws:// or wss://). Required.
	NATSURL string
	// Name is this gateway's name in the cluster, unique among gateways:
	// letters, digits, '-' and '_'. Default: the host name, with any other
	// character turned into '-'.
	Name string
	// Namespace separates clusters that share one NATS server: it is part
	// of every subject and of the directory bucket's name. Default
	// "default".
	Namespace string
	// Heartbeat is how often a gateway renews its cameras in the
	// directory; an entry not renewed for three heartbeats expires.
	// Default 2 s; allowed 100 ms to 1 min.
	Heartbeat time.Duration

	// Credentials is a NATS credentials file (JWT and NKey seed).
	Credentials string
	// User and Password authenticate with a user name; both or neither.
	// Password is a secret: never log it.
	User, Password string
	// Token authenticates with a token. It is a secret: never log it.
	Token string
	// CAFile is a PEM file of the CAs that sign the server's certificate.
	CAFile string
	// CertFile and KeyFile are a client certificate and its key (mutual
	// TLS); both or neither.
	CertFile, KeyFile string
}

// clusterKeys are the keys of the cluster mapping.
func clusterKeys() []string {
	return []string{"nats_url", "name", "namespace", "heartbeat", "credentials", "user", "password",
		"token", "ca_file", "cert_file", "key_file"}
}

func (d *decoder) cluster(f field, c *Config) {
	if isNull(f.val) {
		return
	}
	if f.val.Kind != yaml.MappingNode {
		d.addf(f.line, f.path, "must be a mapping such as {nats_url: nats://nats:4222}, not %s", kindName(f.val))
		return
	}
	cl := &Cluster{Namespace: defaultNamespace, Heartbeat: defaultHeartbeat}
	for _, g := range d.fields(f.val, f.path, nil) {
		switch g.name {
		case "nats_url":
			d.str(g, &cl.NATSURL)
		case "name":
			d.str(g, &cl.Name)
		case "namespace":
			d.str(g, &cl.Namespace)
		case "heartbeat":
			d.duration(g, &cl.Heartbeat)
		case "credentials":
			d.str(g, &cl.Credentials)
		case "user":
			d.str(g, &cl.User)
		case "password":
			d.str(g, &cl.Password)
		case "token":
			d.str(g, &cl.Token)
		case "ca_file":
			d.str(g, &cl.CAFile)
		case "cert_file":
			d.str(g, &cl.CertFile)
		case "key_file":
			d.str(g, &cl.KeyFile)
		default:
			d.unknown(g, clusterKeys(), func(string) string { return "" })
		}
	}
	if _, ok := d.pos[f.path+".nats_url"]; !ok {
		// A missing URL is reported at the cluster: line.
		d.pos[f.path+".nats_url"] = origin{line: f.line, val: ""}
	}
	if cl.Name == "" {
		cl.Name = hostName()
	}
	c.Cluster = cl
}

// hostName is the default gateway name: the host name made safe for a
// NATS subject (no dots, no wildcards).
func hostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "camrelay"
	}
	h, _, _ = strings.Cut(h, ".") // the short name: an FQDN's dots would split the subject
	return strings.Map(func(r rune) rune {
		if validNameRune(r) {
			return r
		}
		return '-'
	}, h)
}

func validNameRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_'
}

// validName reports whether s can be one token of a NATS subject and part
// of a JetStream bucket name.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for _, r := range s {
		if !validNameRune(r) {
			return false
		}
	}
	return true
}

func (k *checker) cluster() {
	cl := k.c.Cluster
	if cl == nil {
		return
	}
	if cl.NATSURL == "" {
		k.addf("cluster.nats_url", cl.NATSURL, "is required (write the NATS server, such as nats://nats:4222)")
	}
	for u := range strings.SplitSeq(cl.NATSURL, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			// Never quote the URL: it may carry a password.
			k.addf("cluster.nats_url", cl.NATSURL, "is not a URL such as nats://nats:4222 (check each comma-separated entry)")
			break
		}
		switch p.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			k.addf("cluster.nats_url", cl.NATSURL, "scheme %q is not one NATS speaks (use nats://, tls://, ws:// or wss://)", short(p.Scheme))
		}
	}
	for _, f := range []struct{ key, v string }{{"cluster.name", cl.Name}, {"cluster.namespace", cl.Namespace}} {
		if !validName(f.v) {
			k.addf(f.key, f.v, "%q is not a valid name (use letters, digits, - and _, at most %d characters; it is part of NATS subjects)",
				short(f.v), maxNameLen)
		}
	}
	k.durRange("cluster.heartbeat", cl.Heartbeat, minHeartbeat, maxHeartbeat)
	k.secret("cluster.password", cl.Password)
	k.secret("cluster.token", cl.Token)
	if (cl.User == "") != (cl.Password == "") {
		k.addf("cluster.user", cl.User, "user and password go together (set both, or neither)")
	}
	auths := 0
	for _, set := range []bool{cl.Credentials != "", cl.User != "", cl.Token != ""} {
		if set {
			auths++
		}
	}
	if auths > 1 {
		k.addf("cluster.credentials", cl.Credentials, "credentials, user/password and token are alternatives (keep one)")
	}
	if (cl.CertFile == "") != (cl.KeyFile == "") {
		k.addf("cluster.cert_file", cl.CertFile, "cert_file and key_file go together (set both, or neither)")
	}
	for _, f := range []struct{ key, v string }{{"cluster.credentials", cl.Credentials}, {"cluster.ca_file", cl.CAFile},
		{"cluster.cert_file", cl.CertFile}, {"cluster.key_file", cl.KeyFile}} {
		if f.v == "" {
			continue
		}
		if _, err := os.Stat(f.v); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			k.addf(f.key, f.v, "cannot read %q: %v (check the path)", short(f.v), err)
		}
	}
}

// String describes the cluster settings without any secret, for logs.
func (cl *Cluster) String() string {
	return fmt.Sprintf("gateway %s in namespace %s", cl.Name, cl.Namespace)
}
