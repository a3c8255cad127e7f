package main_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
	"github.com/complyflow/complyflow/program"
	"github.com/complyflow/complyflow/registry"
	"github.com/complyflow/complyflow/workflows/drtest"
)

// The demo, as `make run` has it: a DR test started from the demo's dr-test
// obligation runs to its record through the emailed links. The coordinator
// plans it on the portal's form (for yesterday, so the exercise is over),
// records a failed result with a finding, and the finding's owner and the
// plan's owner close their follow-ups from their mail.
func TestDemoDRTestThroughEmailedLinks(t *testing.T) {
	db := testenv.Postgres(t)
	tc := testenv.Temporal(t)
	queue := testenv.TaskQueue(t)
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
	keys := []links.Key{{Secret: []byte("portal-demo-dr-test-key-012345")}}
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

	i := slices.IndexFunc(prog.Obligations, func(o program.Obligation) bool { return o.Process == drtest.Process })
	in := drtest.Input{ScheduledRun: prog.Obligations[i].Run(), Scenario: "database-restore"}
	if err := drtest.Validate(ctx, db.App, in); err != nil {
		t.Fatal(err)
	}
	id := drtest.ID(time.Now())
	if _, err := drtest.Start(ctx, tc, queue, id, in); err != nil {
		t.Fatal(err)
	}
	defer tc.TerminateWorkflow(context.Background(), id, "", "test over")

	// linkTo is the task link in the first mail to address whose subject has subject.
	linkTo := func(address, subject string) string {
		var link string
		eventually(t, "a mail to "+address+" about "+subject, func() bool {
			for _, m := range sink.Messages() {
				hdr, text := textPart(t, m.Raw)
				if slices.Contains(m.To, address) && strings.Contains(hdr.Get("Subject"), subject) {
					link = linkRE.FindString(text)
					return link != ""
				}
			}
			return false
		})
		return link
	}
	post := func(link string, form url.Values) {
		t.Helper()
		form.Set("action", "done")
		if code, page := send(t, http.MethodPost, link, form); code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", link, code, page)
		}
	}

	plan := linkTo("kenji.tanaka@example.com", "Plan the DR/BCP test")
	if code, page := send(t, http.MethodGet, plan, nil); code != http.StatusOK || !strings.Contains(page, `name="systems.0.system"`) ||
		!strings.Contains(page, `<option value="sys-aws">AWS (production) (critical)</option>`) {
		t.Fatalf("planning page %d:\n%s", code, page)
	}
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	post(plan, url.Values{"date": {yesterday}, "scenario": {"database-restore"}, "systems.0.system": {"sys-aws"}, "systems.1.system": {"sys-jira"}})

	results := linkTo("kenji.tanaka@example.com", "Record the results")
	if code, page := send(t, http.MethodGet, results, nil); code != http.StatusOK || !strings.Contains(page, "sys-aws: RTO 2h0m0s, RPO 15m0s") {
		t.Fatalf("results page %d:\n%s", code, page)
	}
	post(results, url.Values{"outcome": {"fail"}, "notes": {"the database restore overran"},
		"systems.0.system": {"sys-aws"}, "systems.0.rto_minutes": {"180"}, "systems.0.rpo_minutes": {"10"}, "systems.0.integrity_checked": {"yes"},
		"systems.1.system": {"sys-jira"}, "systems.1.rto_minutes": {"60"}, "systems.1.rpo_minutes": {"60"}, "systems.1.integrity_checked": {"no"},
		"findings.0.title": {"Automate the snapshot restore"}, "findings.0.owner": {"p-liam-schmidt"}, "findings.0.due": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}})

	post(linkTo("liam.schmidt@example.com", "DR/BCP test follow-up"), url.Values{})
	post(linkTo("david.chen@example.com", "DR/BCP test follow-up"), url.Values{})

	var st drtest.Status
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	var rows []string
	if err := db.App.Select(&rows, `SELECT system_id || ' ' || rto_met || ' ' || rpo_met || ' ' || integrity_checked FROM dr_test_systems
		WHERE test_id = $1 ORDER BY system_id`, id); err != nil {
		t.Fatal(err)
	}
	// AWS's own target (2h) is missed at 3h; Jira is medium (1d, 1d).
	if want := []string{"sys-aws false true true", "sys-jira true true false"}; !slices.Equal(rows, want) {
		t.Errorf("systems %v, want %v", rows, want)
	}
	var closed []string
	if err := db.App.Select(&closed, `SELECT kind || ' ' || owner_id || ' ' || closed_by FROM dr_test_findings WHERE test_id = $1 ORDER BY n`, id); err != nil {
		t.Fatal(err)
	}
	if want := []string{"finding p-liam-schmidt p-liam-schmidt", "plan-update p-coo p-coo"}; !slices.Equal(closed, want) || st.Passed {
		t.Errorf("findings %v (passed %v), want %v of a failed test", closed, st.Passed, want)
	}
}
