// Package certs serves a TLS certificate that can be swapped while the
// server runs: renewed files (Let's Encrypt, a corporate CA) are read again
// on Reload, and handshakes after that use the new pair.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync/atomic"
	"time"
)

// Reloader holds the certificate read from a cert and key file pair.
// GetCertificate is safe for concurrent use with Reload.
type Reloader struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// New reads the pair once; an unreadable pair is an error, so that a typo
// stops start-up instead of failing every handshake.
func New(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile}
	if _, err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the pair again and, if it is valid, serves it from the next
// handshake on; on error the old certificate stays. It returns the new
// leaf's expiry.
func (r *Reloader) Reload() (notAfter time.Time, err error) {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return time.Time{}, fmt.Errorf("load TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	if c.Leaf == nil && len(c.Certificate) > 0 {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return time.Time{}, fmt.Errorf("parse TLS certificate %s: %w", r.certFile, err)
		}
	}
	r.cur.Store(&c)
	return c.Leaf.NotAfter, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// Config returns a server TLS config that serves r's certificate. It offers
// only HTTP/1.1: viewer sockets and MJPEG take over the connection
// (hijack), which HTTP/2 does not allow, and a browser that spoke HTTP/2
// would try WebSockets over it (RFC 8441).
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{
		GetCertificate: r.GetCertificate,
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
	}
}
