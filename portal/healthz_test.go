package main_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
	"github.com/complyflow/complyflow/schema"
)

func TestHealthzReportsSchemaAndFailsWhenBehind(t *testing.T) {
	db := testenv.Postgres(t)
	srv := httptest.NewServer((&portal.Server{DB: db.App, Logger: slog.Default()}).Handler())
	defer srv.Close()

	get := func() (int, map[string]string) {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	code, body := get()
	if code != http.StatusOK || body["schema"] != schema.Latest() || body["build"] == "" {
		t.Fatalf("healthz: %d %v, want 200 with schema %s", code, body, schema.Latest())
	}

	if _, err := db.Owner.Exec(`DELETE FROM schema_migrations WHERE version = $1`, schema.Latest()); err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz with the schema behind: %d %v, want 503", code, body)
	}
}
