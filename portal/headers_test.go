package main_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	db := testenv.Postgres(t)
	srv := httptest.NewServer((&portal.Server{DB: db.App, Logger: slog.Default()}).Handler())
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodGet, "/change-requests/new", http.StatusOK},
		{http.MethodPost, "/change-requests/new", http.StatusUnprocessableEntity},
		{http.MethodGet, "/change-requests/confirm/not-a-token", http.StatusForbidden},
		{http.MethodGet, "/t/not-a-token", http.StatusForbidden},
		{http.MethodGet, "/no-such-page", http.StatusNotFound},
		{http.MethodPost, "/slack/interactions", http.StatusUnauthorized},
	} {
		var resp *http.Response
		var err error
		if c.method == http.MethodGet {
			resp, err = http.Get(srv.URL + c.path)
		} else {
			resp, err = http.PostForm(srv.URL+c.path, url.Values{"requester": {""}})
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.code)
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: headers %v", c.method, c.path, h)
		}
	}
}
