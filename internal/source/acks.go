package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/camrelay/camrelay/internal/control"
)

// acks matches control commands sent down a camera's link to the acks that
// come back, by id. Every link that carries the firmware's JSON messages
// (push, serial, ws-pull) uses one, so that the id space, the timeout and
// the offline rules are the same whatever the wire. The zero value is ready;
// safe for concurrent use.
type acks struct {
	next    atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]chan control.Ack // commands awaiting their ack
}

// control sends s with a fresh id through send and waits for the ack with
// that id or for ctx to end (control.ErrNoAck). A send that fails is
// control.ErrOffline: the camera cannot have seen the command.
func (a *acks) control(ctx context.Context, s control.Settings, send func(ctx context.Context, msg []byte) error) (control.Ack, error) {
	id := a.next.Add(1)
	ch := make(chan control.Ack, 1)
	a.mu.Lock()
	if a.pending == nil {
		a.pending = map[uint64]chan control.Ack{}
	}
	a.pending[id] = ch
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.pending, id)
		a.mu.Unlock()
	}()
	msg, err := json.Marshal(control.Command{Type: "control", ID: id, Settings: s})
	if err != nil {
		return control.Ack{}, fmt.Errorf("encode control command: %w", err)
	}
	if err := send(ctx, msg); err != nil {
		if errors.Is(err, control.ErrOffline) {
			return control.Ack{}, err
		}
		return control.Ack{}, fmt.Errorf("%w: send control command: %v", control.ErrOffline, err)
	}
	select {
	case ack := <-ch:
		return ack, nil
	case <-ctx.Done():
		return control.Ack{}, control.ErrNoAck
	}
}

// deliver hands a camera's ack message to the command waiting for it; an
// ack nobody waits for (late, or a duplicate) is ignored.
func (a *acks) deliver(data []byte) {
	var ack control.Ack
	if err := json.Unmarshal(data, &ack); err != nil {
		return
	}
	a.mu.Lock()
	ch := a.pending[ack.ID]
	delete(a.pending, ack.ID)
	a.mu.Unlock()
	if ch != nil {
		ch <- ack // buffered, and removed from pending: never blocks
	}
}
