package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/auth"
	"github.com/camrelay/camrelay/internal/control"
)

// Controller carries settings to a camera and returns its ack. Sources that
// can talk back to their camera implement it.
type Controller interface {
	Control(ctx context.Context, s control.Settings) (control.Ack, error)
}

// controlTimeout is how long a camera has to acknowledge a command: a board
// on weak WiFi answers within a second or two; longer means it is gone.
const controlTimeout = 5 * time.Second

// settingsState keeps what each camera last acknowledged, for the API.
type settingsState struct {
	mu      sync.Mutex
	current map[string]json.RawMessage
}

func (s *settingsState) merge(applied json.RawMessage) {
	var m map[string]json.RawMessage
	if json.Unmarshal(applied, &m) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil {
		s.current = map[string]json.RawMessage{}
	}
	for k, v := range m {
		s.current[k] = v
	}
}

func (s *settingsState) snapshot() map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.current) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(s.current))
	for k, v := range s.current {
		out[k] = v
	}
	return out
}

// adminOK checks "Authorization: Bearer ADMIN_TOKEN" in constant time. The
// token must come in a header: a cookie alone never authorises control, so a
// page on another site cannot steer a camera through the admin's browser.
func (s *Server) adminOK(r *http.Request) bool {
	tok, ok := auth.Bearer(r.Header)
	return ok && s.admin.Match(tok)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveControl validates settings, sends them to the camera and answers
// with its ack: 200 applied, 400 bad settings (each key named), 401/403 no
// or wrong admin token, 409 camera offline, 422 camera refused, 501 link
// cannot be controlled, 504 no ack in time.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, cam *camera) {
	if !s.admin.IsSet() {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"error": "control is disabled: set admin_token in the config (or CAMRELAY_ADMIN_TOKEN)"})
		return
	}
	if !s.adminOK(r) {
		if s.m != nil {
			s.m.AuthFailures.WithLabelValues("control").Inc()
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="camrelay admin"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong admin token (Authorization: Bearer TOKEN)"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<10))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request body too large"})
		return
	}
	settings, err := control.Parse(body)
	if err != nil {
		var p control.Problems
		errors.As(err, &p)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid settings: " + err.Error(), "problems": p})
		return
	}
	if cam.Control == nil {
		writeJSON(w, http.StatusNotImplemented, map[string]string{
			"error": "camera " + cam.ID + " (" + cam.Source + ") cannot be controlled through its link"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	ack, err := cam.Control.Control(ctx, settings)
	switch {
	case errors.Is(err, control.ErrOffline):
		writeJSON(w, http.StatusConflict, map[string]string{"error": "camera " + cam.ID + " is offline: " + err.Error()})
	case errors.Is(err, control.ErrNoAck):
		writeJSON(w, http.StatusGatewayTimeout, map[string]string{"error": "camera " + cam.ID + " did not acknowledge within " + controlTimeout.String()})
	case errors.Is(err, control.ErrNotControllable):
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
	case !ack.OK:
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "camera refused: " + ack.Error, "id": ack.ID})
	default:
		cam.settings.merge(ack.Applied)
		s.log.Info("camera settings changed", "camera", cam.ID, "applied", string(ack.Applied))
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "id": ack.ID, "applied": ack.Applied})
	}
}
