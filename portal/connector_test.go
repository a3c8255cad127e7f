package main_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
	"github.com/complyflow/complyflow/workflows/offboarding"
)

// A webhook that answers {"status":"accepted"} later POSTs to the signed
// callback URL it was given: a tampered URL is 403 and records nothing; the
// real one confirms the removal, and the offboarding completes.
func TestConnectorCallbackThroughThePortal(t *testing.T) {
	db := testenv.Postgres(t)
	tc := testenv.Temporal(t)
	queue := testenv.TaskQueue(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name, manager_id) VALUES ('cb-mgr', 'm@example.com', 'Mgr', NULL),
			('cb-leaver', 'l@example.com', 'Leaver', 'cb-mgr'), ('cb-owner', 'o@example.com', 'Owner', NULL);
		INSERT INTO offboarding_deadlines VALUES ('critical', '4 hours', '1 hour', '2 hours')`)
	callbackURL := make(chan string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev act.WebhookEvent
		json.NewDecoder(r.Body).Decode(&ev)
		callbackURL <- ev.CallbackURL
		io.WriteString(w, `{"status":"accepted"}`)
	}))
	defer hook.Close()
	db.Owner.MustExec(`INSERT INTO systems (id, name, owner_id, removal_method, webhook_url, criticality)
		VALUES ('sys-hook', 'Hook', 'cb-owner', 'webhook', $1, 'critical')`, hook.URL)

	keys := []links.Key{{Secret: []byte("portal-callback-link-key-0123")}}
	signer, _ := links.NewSigner(keys)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	handler = (&portal.Server{Config: config.Config{LinkSigningKeys: keys}, DB: db.App, Temporal: tc,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}).Handler()

	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(offboarding.Workflow, workflow.RegisterOptions{Name: offboarding.WorkflowName})
	w.RegisterActivity(&act.Activities{DB: db.App, ConnectorKey: []byte("portal-connector-key-0123"), Links: signer, BaseURL: srv.URL, LinkTTL: time.Hour})
	w.RegisterActivity(&campaignact.Activities{DB: db.App}) // the leaver's assignments close as left
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The last day is past, so the webhook is called at once.
	id, err := offboarding.Start(ctx, tc, queue, offboarding.Input{PersonID: "cb-leaver", LastDay: "2026-01-09", StartedBy: "cb-mgr"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.TerminateWorkflow(context.Background(), id, "", "test over")
	var url string
	select {
	case url = <-callbackURL:
	case <-ctx.Done():
		t.Fatal("the webhook was not called")
	}
	post := func(u string) int {
		resp, err := http.Post(u, "application/json", strings.NewReader(`{"status":"removed"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(url[:len(url)-3] + "xyz"); code != http.StatusForbidden {
		t.Errorf("tampered callback: %d, want 403", code)
	}
	var n int
	db.Owner.Get(&n, `SELECT count(*) FROM offboarding_removals`)
	if n != 0 {
		t.Fatalf("%d removals recorded after a tampered callback", n)
	}
	if code := post(url); code != http.StatusOK {
		t.Fatalf("callback: %d, want 200", code)
	}
	var st offboarding.Status
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	var by, method string
	db.Owner.QueryRow(`SELECT removed_by, method FROM offboarding_removals WHERE system_id = 'sys-hook'`).Scan(&by, &method)
	if st.Stage != act.StatusCompleted || by != "connector:sys-hook" || method != "webhook" {
		t.Errorf("stage %s, removed by %q via %q", st.Stage, by, method)
	}
	if code := post(url); code != http.StatusConflict {
		t.Errorf("callback after the run ended: %d, want 409", code)
	}
}
