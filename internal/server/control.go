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

// tokenOK compares tok with the admin token in constant time (auth.Token
// hashes both sides, so the length does not leak either).
func (s *Server) tokenOK(tok string) bool {
	return s.admin.Match(tok)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Answers of a control request that fail before the camera is asked; the
// same for POST and for the viewer socket.
const (
	msgControlOff = "control is disabled: set admin_token in the config (or CAMRELAY_ADMIN_TOKEN)"
	msgBadToken   = "missing or wrong admin token"
)

// serveControl validates settings, sends them to the camera and answers
// with its ack: 200 applied, 400 bad settings (each key named), 401/403 no
// or wrong admin token, 409 camera offline, 422 camera refused, 501 link
// cannot be controlled, 504 no ack in time.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, cam *camera) {
	if !s.admin.IsSet() {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": msgControlOff})
		return
	}
	if !s.adminOK(r) {
		s.controlAuthFailed()
		w.Header().Set("WWW-Authenticate", `Bearer realm="camrelay admin"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msgBadToken + " (Authorization: Bearer TOKEN)"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<10))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request body too large"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	status, answer := s.control(ctx, cam, body)
	writeJSON(w, status, answer)
}

func (s *Server) controlAuthFailed() {
	if s.m != nil {
		s.m.AuthFailures.WithLabelValues("control").Inc()
	}
}

// control validates a JSON object of settings, sends them to the camera
// and returns the HTTP status and JSON answer of the outcome. POST
// /cam/{id}/control and the viewer socket's control message both end here,
// so that they validate and answer alike. The caller has checked the admin
// token and bounds ctx (controlTimeout).
func (s *Server) control(ctx context.Context, cam *camera, body []byte) (int, map[string]any) {
	settings, err := control.Parse(body)
	if err != nil {
		var p control.Problems
		errors.As(err, &p)
		return http.StatusBadRequest, map[string]any{"error": "invalid settings: " + err.Error(), "problems": p}
	}
	if cam.Control == nil {
		return http.StatusNotImplemented, map[string]any{
			"error": "camera " + cam.ID + " (" + cam.Source + ") cannot be controlled through its link"}
	}
	ack, err := cam.Control.Control(ctx, settings)
	var failed *control.KeyError
	switch {
	case errors.Is(err, control.ErrOffline):
		return http.StatusConflict, map[string]any{"error": "camera " + cam.ID + " is offline: " + err.Error()}
	case errors.Is(err, control.ErrNoAck):
		return http.StatusGatewayTimeout, map[string]any{"error": "camera " + cam.ID + " did not acknowledge within " + controlTimeout.String()}
	case errors.Is(err, control.ErrNotControllable):
		return http.StatusNotImplemented, map[string]any{"error": err.Error()}
	case errors.As(err, &failed):
		// A camera asked one setting per request (CameraWebServer): say
		// which key failed and what was applied before it.
		cam.settings.merge(failed.Applied)
		status := http.StatusBadGateway
		if failed.Timeout {
			status = http.StatusGatewayTimeout
		}
		answer := map[string]any{"error": err.Error(), "key": failed.Key}
		if len(failed.Applied) > 0 {
			answer["applied"] = failed.Applied
		}
		return status, answer
	case err != nil:
		return http.StatusBadGateway, map[string]any{"error": err.Error()}
	case !ack.OK:
		return http.StatusUnprocessableEntity, map[string]any{"error": "camera refused: " + ack.Error, "id": ack.ID}
	}
	cam.settings.merge(ack.Applied)
	s.log.Info("camera settings changed", "camera", cam.ID, "applied", string(ack.Applied))
	return http.StatusOK, map[string]any{"ok": true, "id": ack.ID, "applied": ack.Applied}
}
