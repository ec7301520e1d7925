package main

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/cluster"
	"github.com/camrelay/camrelay/internal/config"
	"github.com/camrelay/camrelay/internal/hub"
	"github.com/camrelay/camrelay/internal/metrics"
	"github.com/camrelay/camrelay/internal/server"
)

// joinCluster connects this gateway to the cluster of cfg.Cluster. Cameras
// that only other gateways hold are added to the server that srv returns
// once the node runs.
func joinCluster(ctx context.Context, cfg *config.Config, reg prometheus.Registerer, log *slog.Logger, srv func() *server.Server) (*cluster.Node, error) {
	cl := cfg.Cluster
	fresh := cfg.Limits.FreshFor
	if fresh == 0 {
		fresh = -1 // the file's 0 means "always wait", as for local hubs
	}
	maxFrame := cfg.Limits.MaxFrameBytes
	for _, c := range cfg.Cameras {
		maxFrame = max(maxFrame, c.MaxFrameBytes)
	}
	return cluster.Connect(ctx, cluster.Options{
		URL:          cl.NATSURL,
		Name:         cl.Name,
		Namespace:    cl.Namespace,
		Heartbeat:    cl.Heartbeat,
		NATS:         natsOptions(cl),
		MaxFrame:     maxFrame,
		OfflineAfter: cfg.Limits.OfflineAfter,
		Hub:          &hub.Options{Ring: cfg.Limits.Ring, FreshFor: fresh},
		Metrics:      metrics.NewCluster(reg),
		Log:          log.With("subsystem", "cluster", "gateway", cl.Name),
		AddCamera: func(c cluster.Remote) {
			srv().AddCamera(server.Camera{ID: c.ID, Name: c.Name, Source: c.Source, Hub: c.Hub, Control: c.Control, Owner: c.Owner, Fetch: c.Fetch})
		},
	})
}

// natsOptions turns the config's credentials and TLS files into nats.go
// options.
func natsOptions(cl *config.Cluster) []nats.Option {
	var opts []nats.Option
	if cl.Credentials != "" {
		opts = append(opts, nats.UserCredentials(cl.Credentials))
	}
	if cl.User != "" {
		opts = append(opts, nats.UserInfo(cl.User, cl.Password))
	}
	if cl.Token != "" {
		opts = append(opts, nats.Token(cl.Token))
	}
	if cl.CAFile != "" {
		opts = append(opts, nats.RootCAs(cl.CAFile))
	}
	if cl.CertFile != "" {
		opts = append(opts, nats.ClientCert(cl.CertFile, cl.KeyFile))
	}
	return opts
}
