package source

import (
	"context"
	"log/slog"
	"time"
)

// Demander is a source that can tell its camera to drop to an idle rate
// while nobody watches (saving power, heat and airtime) and to come back to
// full rate when a viewer arrives.
type Demander interface {
	// Demand records the wanted rate and sends it to the camera if its
	// link is up; a camera that connects later is told on connect.
	Demand(full bool)
}

// Audience is what the demand loop watches: a hub's viewer count.
type Audience interface {
	Viewers() int
	// DemandChanged is signalled when the count goes to or from zero.
	DemandChanged() <-chan struct{}
}

// RunDemand tells d to go idle once a has had no viewers for idleAfter, and
// back to full rate as soon as a viewer arrives. It returns when ctx ends.
// idleAfter <= 0 means never idle.
func RunDemand(ctx context.Context, a Audience, d Demander, idleAfter time.Duration, log *slog.Logger) error {
	if idleAfter <= 0 {
		return nil
	}
	full := true // cameras boot at full rate
	idle := time.NewTimer(idleAfter)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.DemandChanged():
			if a.Viewers() > 0 {
				idle.Stop()
				if !full {
					full = true
					d.Demand(true)
					log.Info("viewer arrived: camera back to full rate")
				}
			} else {
				idle.Reset(idleAfter)
			}
		case <-idle.C:
			if a.Viewers() == 0 && full {
				full = false
				d.Demand(false)
				log.Info("no viewers: camera told to drop to its idle rate", "idle_after", idleAfter)
			}
		}
	}
}
