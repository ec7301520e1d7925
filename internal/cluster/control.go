package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/camrelay/camrelay/internal/control"
	"github.com/camrelay/camrelay/internal/frame"
)

// LocalController carries settings to a camera through its local link
// (server.Controller, declared here so that this package does not depend on
// the server).
type LocalController interface {
	Control(ctx context.Context, s control.Settings) (control.Ack, error)
}

// Controller carries settings to a camera wherever its link is: through
// the local link while this gateway holds it, else by a NATS request to the
// gateway that does. Its errors are control's sentinels, so that the HTTP
// answer is the same on every gateway.
type Controller struct {
	n     *Node
	c     *camera
	local LocalController // nil if the camera is not configured here or cannot be controlled
}

var _ LocalController = (*Controller)(nil)

// controlRequest and controlReply travel on a gateway's control subject.
type controlRequest struct {
	Camera   string           `json:"camera"`
	Settings control.Settings `json:"settings"`
}

type controlReply struct {
	Ack   *control.Ack `json:"ack,omitempty"`
	Code  string       `json:"code,omitempty"` // offline, no_ack, not_controllable, error
	Error string       `json:"error,omitempty"`
}

// Control sends s to the camera and returns its ack.
func (ct *Controller) Control(ctx context.Context, s control.Settings) (control.Ack, error) {
	gw, remote := ct.c.owner()
	if !remote {
		if ct.local == nil {
			if ct.c.local {
				return control.Ack{}, control.ErrNotControllable
			}
			return control.Ack{}, control.ErrOffline
		}
		return ct.local.Control(ctx, s)
	}
	req, _ := json.Marshal(controlRequest{Camera: ct.c.id, Settings: s})
	msg, err := ct.n.nc.RequestWithContext(ctx, ct.n.subject.control(gw), req)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return control.Ack{}, fmt.Errorf("%w: gateway %s does not answer", control.ErrOffline, gw)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return control.Ack{}, control.ErrNoAck
	case err != nil:
		return control.Ack{}, fmt.Errorf("%w: reach gateway %s: %v", control.ErrOffline, gw, err)
	}
	var rep controlReply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return control.Ack{}, fmt.Errorf("gateway %s answered control with %d bytes of non-JSON", gw, len(msg.Data))
	}
	switch rep.Code {
	case "":
		if rep.Ack == nil {
			return control.Ack{}, fmt.Errorf("gateway %s answered control without an ack", gw)
		}
		return *rep.Ack, nil
	case "offline":
		return control.Ack{}, fmt.Errorf("%w (on gateway %s): %s", control.ErrOffline, gw, rep.Error)
	case "no_ack":
		return control.Ack{}, control.ErrNoAck
	case "not_controllable":
		return control.Ack{}, fmt.Errorf("%w (on gateway %s)", control.ErrNotControllable, gw)
	}
	return control.Ack{}, fmt.Errorf("control on gateway %s: %s", gw, rep.Error)
}

// controlAckWait is how long the owning gateway waits for the camera's
// ack: a little under the requesting gateway's 5 s, so that "no ack" comes
// back as an answer rather than as the request timing out.
const controlAckWait = 4500 * time.Millisecond

// runControl answers control requests for the cameras whose link this
// gateway holds, one at a time: control is rare, and a camera answers each
// command within seconds.
func (n *Node) runControl(ctx context.Context) error {
	reqs := make(chan *nats.Msg, 16) // a few admins clicking at once
	sub, err := n.nc.ChanSubscribe(n.subject.control(n.opts.Name), reqs)
	if err != nil {
		n.log.Warn("cluster control subscription failed; other gateways cannot control cameras here", "err", err)
		<-ctx.Done()
		return nil
	}
	defer func() { _ = sub.Unsubscribe() }()
	snaps := make(chan *nats.Msg, 64) // snapshot requests are cheap to answer
	ssub, err := n.nc.ChanSubscribe(n.subject.snapshot(n.opts.Name), snaps)
	if err != nil {
		n.log.Warn("cluster snapshot subscription failed; other gateways cannot fetch snapshots here", "err", err)
	} else {
		defer func() { _ = ssub.Unsubscribe() }()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg := <-reqs:
			rep := n.serveControl(ctx, msg.Data)
			data, _ := json.Marshal(rep)
			_ = msg.Respond(data)
		case msg := <-snaps:
			n.serveSnapshot(msg)
		}
	}
}

// serveSnapshot answers the newest frame of a camera held here; an empty
// answer means none.
func (n *Node) serveSnapshot(msg *nats.Msg) {
	n.mu.Lock()
	c := n.cameras[string(msg.Data)]
	n.mu.Unlock()
	var f *frame.Frame
	if c != nil {
		f = c.hub.Latest()
	}
	if f == nil {
		_ = msg.Respond(nil)
		return
	}
	_ = msg.RespondMsg(n.frameMsg(msg.Reply, f))
}

func (n *Node) serveControl(ctx context.Context, data []byte) controlReply {
	var req controlRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return controlReply{Code: "error", Error: "bad control request: " + err.Error()}
	}
	n.mu.Lock()
	c := n.cameras[req.Camera]
	n.mu.Unlock()
	if c == nil || !c.local {
		return controlReply{Code: "offline", Error: "camera " + req.Camera + " is not on this gateway"}
	}
	ct := c.ctrl
	if ct == nil {
		return controlReply{Code: "not_controllable"}
	}
	// The requester's own deadline covers the whole round trip; this one
	// stops a silent camera from holding the responder longer than that.
	cctx, cancel := context.WithTimeout(ctx, controlAckWait)
	defer cancel()
	ack, err := ct.Control(cctx, req.Settings)
	switch {
	case errors.Is(err, control.ErrOffline):
		return controlReply{Code: "offline", Error: err.Error()}
	case errors.Is(err, control.ErrNoAck):
		return controlReply{Code: "no_ack"}
	case errors.Is(err, control.ErrNotControllable):
		return controlReply{Code: "not_controllable"}
	case err != nil:
		return controlReply{Code: "error", Error: err.Error()}
	}
	return controlReply{Ack: &ack}
}
