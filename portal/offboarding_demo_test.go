package main_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/complyflow/complyflow/activities/notify"
	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
	"github.com/complyflow/complyflow/program"
	"github.com/complyflow/complyflow/registry"
	"github.com/complyflow/complyflow/workflows/offboarding"
)

var removeRE = regexp.MustCompile(`Remove Marco Santos's access to (.+) by `)

// The demo, as `make run` has it: the demo directory and program, the
// worker's registry. A manager offboards a demo person with an immediate
// termination; every system's owner gets a task by email (the connectors,
// with no signing key or SCIM token configured, hand theirs to the owner
// saying why); answering through the emailed links closes the offboarding,
// and every system's removal is recorded with who and when.
func TestDemoOffboardingThroughEmailedLinks(t *testing.T) {
	db := testenv.Postgres(t)
	tc := testenv.Temporal(t)
	queue := testenv.TaskQueue(t)
	t.Setenv("SCIM_TOKEN_OKTA", "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, kind := range []directory.Kind{directory.People, directory.Systems} {
		f, err := os.Open("../demo/" + string(kind) + ".csv")
		if err != nil {
			t.Fatal(err)
		}
		_, err = directory.Import(ctx, db.App, kind, f.Name(), f, "test")
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	prog, err := program.Load("../demo/program.yaml", program.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := program.Record(ctx, db.App, prog, "test", nil); err != nil {
		t.Fatal(err)
	}

	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	keys := []links.Key{{Secret: []byte("portal-demo-offboarding-key-01")}}
	signer, _ := links.NewSigner(keys)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	handler = (&portal.Server{Config: config.Config{LinkSigningKeys: keys}, DB: db.App, Temporal: tc,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}).Handler()
	w := worker.New(tc, queue, worker.Options{})
	registry.Register(w, registry.Deps{DB: db.App, Mailer: &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"},
		Links: signer, PortalBaseURL: srv.URL, LinkTTL: time.Hour})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	in := offboarding.Input{PersonID: "p-marco-santos", LastDay: yesterday, StartedBy: "p-support-manager"}
	if err := offboarding.Validate(ctx, db.App, in); err != nil {
		t.Fatal(err)
	}
	id, err := offboarding.Start(ctx, tc, queue, in)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.TerminateWorkflow(context.Background(), id, "", "test over")

	// One task per system, each emailed to its owner with a signed link.
	var systems int
	db.App.Get(&systems, `SELECT count(*) FROM systems`)
	tasks := map[string]string{} // system name -> link
	eventually(t, "every owner's task email", func() bool {
		for _, m := range sink.Messages() {
			_, text := textPart(t, m.Raw)
			if s := removeRE.FindStringSubmatch(text); s != nil && tasks[s[1]] == "" {
				tasks[s[1]] = linkRE.FindString(text)
			}
		}
		return len(tasks) == systems
	})
	// The task page offers the two answers by name.
	if code, page := send(t, http.MethodGet, tasks["GitHub"], nil); code != http.StatusOK ||
		!strings.Contains(page, `value="removed">Access removed</button>`) || !strings.Contains(page, `value="no-account">No account</button>`) ||
		!strings.Contains(page, "Not removed automatically: the webhook connector could not be used: CONNECTOR_SIGNING_KEY is not set") {
		t.Errorf("GitHub task page %d:\n%s", code, page)
	}
	for name, link := range tasks {
		action := "removed"
		if name == "Zendesk" {
			action = "no-account"
		}
		if code, page := send(t, http.MethodPost, link, url.Values{"action": {action}, "note": {"done from the demo"}}); code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", name, code, page)
		}
	}
	var st offboarding.Status
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Stage != act.StatusCompleted {
		t.Fatalf("stage %s", st.Stage)
	}
	var rows []struct {
		System   string `db:"system_id"`
		By       string `db:"removed_by"`
		Outcome  string `db:"outcome"`
		Fallback string `db:"fallback_reason"`
		Owner    string `db:"owner_id"`
	}
	if err := db.App.Select(&rows, `SELECT r.system_id, r.removed_by, r.outcome, r.fallback_reason, s.owner_id
		FROM offboarding_removals r JOIN systems s ON s.id = r.system_id ORDER BY r.system_id`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != systems {
		t.Fatalf("%d removals recorded, want %d", len(rows), systems)
	}
	for _, r := range rows {
		if r.By != r.Owner {
			t.Errorf("%s removed by %s, want its owner %s", r.System, r.By, r.Owner)
		}
		switch r.System {
		case "sys-github", "sys-datadog":
			if r.Fallback != "the webhook connector could not be used: CONNECTOR_SIGNING_KEY is not set: webhooks cannot be signed" {
				t.Errorf("%s fallback %q", r.System, r.Fallback)
			}
		case "sys-okta":
			if r.Fallback != "the SCIM bearer token SCIM_TOKEN_OKTA is not set in the worker's environment" {
				t.Errorf("%s fallback %q", r.System, r.Fallback)
			}
		case "sys-zendesk":
			if r.Outcome != "no_account" {
				t.Errorf("zendesk outcome %s", r.Outcome)
			}
		}
	}
}
