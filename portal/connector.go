package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows/offboarding"
)

// connectorCallback takes a webhook's later answer to an access removal
// (issue 13: {"status":"accepted"} waits for a POST to the signed
// callback_url). A token that does not verify is 403 and nothing is
// recorded; the offboarding decides whether it waits for this answer.
func (s *Server) connectorCallback(w http.ResponseWriter, r *http.Request) {
	if s.signerErr != nil {
		s.Logger.Error("connector callback refused: no link signing key", "err", s.signerErr)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "callback links cannot be verified"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
		return
	}
	err = offboarding.DeliverCallback(r.Context(), s.Temporal, s.signer, r.PathValue("token"), body)
	var rejectedMsg string
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]string{"status": "recorded"})
	case errors.Is(err, offboarding.ErrCallbackLink):
		s.Logger.Warn("connector callback with a link that does not verify", "err", err)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "this callback link is not valid"})
	case isRefusal(err, &rejectedMsg):
		writeJSON(w, http.StatusConflict, map[string]string{"error": rejectedMsg})
	default:
		s.Logger.Error("connector callback not delivered", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "not recorded; try again later"})
	}
}

// isRefusal reports a refusal or a rejected update, with its message.
func isRefusal(err error, msg *string) bool {
	if reason, ok := refusal.Reason(err); ok {
		*msg = reason
		return true
	}
	m, ok := rejection(err)
	*msg = m
	return ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
