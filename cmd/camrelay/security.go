package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/auth"
	"github.com/camrelay/camrelay/internal/certs"
	"github.com/camrelay/camrelay/internal/config"
)

// security is the part of server.Options that the security settings give.
type security struct {
	AdminTokenHash     string
	MetricsToken       auth.Token
	Viewers            *auth.Viewers
	TrustedProxies     auth.Proxies
	MaxConnsPerClient  int
	MaxAuthFailures    int
	AuthFailureForgive time.Duration
}

// securityOptions turns the validated config's security settings into the
// server's. The config says 0 for "no connection cap"; the server says -1.
func securityOptions(cfg *config.Config) (security, error) {
	var a security
	tok, err := auth.TokenFrom(cfg.Viewers.Token, cfg.Viewers.TokenHash)
	if err != nil {
		return a, fmt.Errorf("viewers.token: %w", err)
	}
	users := make([]auth.User, len(cfg.Viewers.Users))
	for i, u := range cfg.Viewers.Users {
		users[i] = auth.User{Name: u.Name, Password: u.Password, PasswordHash: u.PasswordHash}
	}
	if a.Viewers, err = auth.NewViewers(users, tok); err != nil {
		return a, fmt.Errorf("viewers: %w", err)
	}
	if a.TrustedProxies, err = auth.ParseProxies(cfg.TrustedProxies); err != nil {
		return a, err
	}
	if a.MetricsToken, err = auth.TokenFrom(cfg.MetricsToken, cfg.MetricsTokenHash); err != nil {
		return a, fmt.Errorf("metrics_token: %w", err)
	}
	a.AdminTokenHash = cfg.AdminTokenHash
	a.MaxConnsPerClient = cfg.Limits.MaxConnsPerClient
	if a.MaxConnsPerClient == 0 {
		a.MaxConnsPerClient = -1
	}
	a.MaxAuthFailures = cfg.Limits.MaxAuthFailures
	a.AuthFailureForgive = cfg.Limits.AuthFailureForgive
	return a, nil
}

// reloadOnHangup reads the TLS certificate again on each SIGHUP (from hup)
// until ctx ends. A failed reload keeps serving the old certificate.
// Without TLS (r nil) SIGHUP is still caught, so that `systemctl reload` or
// a stray kill -HUP does not end the gateway (SIGHUP's default action).
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, r *certs.Reloader, log *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			if r == nil {
				log.Info("SIGHUP: nothing to reload (no TLS certificate configured)")
				continue
			}
			if notAfter, err := r.Reload(); err != nil {
				log.Error("TLS certificate reload failed; still serving the previous one", "err", err)
			} else {
				log.Info("TLS certificate reloaded", "not_after", notAfter.UTC())
			}
		}
	}
}

// hashCmd is `camrelay hash password|token`: it reads the secret from the
// first line of stdin (so it stays out of the shell's history and ps) and
// prints what the config's password_hash or *_hash key takes. With
// `token --new` it makes a random token and prints it and its hash.
func hashCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("camrelay hash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newToken := fs.Bool("new", false, "token only: make a new random token and print it, then its hash")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: camrelay hash password   (bcrypt, for viewers.users[].password_hash)\n"+
			"       camrelay hash token      (sha256:<hex>, for token_hash, admin_token_hash, viewers.token_hash)\n"+
			"       camrelay hash token --new\n\nThe secret is read from the first line of standard input.\n")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return errors.New("hash: say password or token")
	}
	kind := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if kind == "token" && *newToken {
		tok := auth.RandomToken()
		fmt.Fprintf(stdout, "token: %s\nhash:  %s\n", tok, auth.HashToken(tok))
		return nil
	}
	secret, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("hash: read standard input: %w", err)
	}
	secret = strings.TrimRight(secret, "\r\n")
	if secret == "" {
		return errors.New("hash: standard input is empty (pipe the secret in, e.g. printf %s \"$PASS\" | camrelay hash password)")
	}
	switch kind {
	case "password":
		h, err := auth.HashPassword(secret)
		if err != nil {
			return fmt.Errorf("hash: %w", err)
		}
		fmt.Fprintln(stdout, h)
	case "token":
		fmt.Fprintln(stdout, auth.HashToken(secret))
	default:
		fs.Usage()
		return fmt.Errorf("hash: %q is not password or token", kind)
	}
	return nil
}

// checkHealthTLS is checkHealth for a gateway serving HTTPS. It probes this
// machine, whose certificate names a public host, so it does not verify
// the certificate: it asks only whether the gateway answers.
func checkHealthTLS(ctx context.Context, addr string) error {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // a liveness probe of this machine
	return probeHealth(ctx, addr, "https", &http.Client{Transport: t})
}
