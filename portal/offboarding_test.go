package main_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
	"github.com/complyflow/complyflow/registry"
)

// offboardingPortal is the sign-in portal (mia manages eve, who manages
// ann; bob reports to nobody; sam is the security officer; lee has left)
// starting processes on the dev server, with a wiki owned by bob and a
// ticket system owned by sam in the inventory.
func offboardingPortal(t *testing.T) (*signinPortal, client.Client, string) {
	tc := testenv.Temporal(t)
	queue := testenv.TaskQueue(t)
	sp := newSigninPortalWith(t, func(s *portal.Server, _ string) { s.Temporal, s.Config.TaskQueue = tc, queue })
	sp.db.Owner.MustExec(`
		INSERT INTO people (id, email, name, manager_id) VALUES ('ann', 'ann@example.com', 'Ann Analyst', 'eve');
		INSERT INTO offboarding_deadlines (criticality, deadline_after, remind_every, officer_after) VALUES ('low', '1 day', '8 hours', '2 days');
		INSERT INTO systems (id, name, owner_id, removal_method, criticality) VALUES
			('sys-wiki', 'Wiki', 'bob', 'manual', 'low'), ('sys-tickets', 'Tickets', 'sam', 'manual', 'low')`)
	return sp, tc, queue
}

// notStarted fails the test if an offboarding of person was started on
// queue (the dev server keeps other tests' runs, under the same IDs).
func notStarted(t *testing.T, tc client.Client, queue, person string) {
	t.Helper()
	desc, err := tc.DescribeWorkflowExecution(context.Background(), "offboarding/"+person, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return
	}
	if err != nil || desc.ExecutionConfig.TaskQueue.GetName() == queue {
		t.Errorf("offboarding/%s: %v, want none started", person, err)
	}
}

// A manager opens the form from home and /team, sees only their reports
// (direct and indirect), and starts their report's offboarding: the page
// names it and links its status; it runs, is audited as started by them,
// and each system's owner gets a removal task. A second start of the same
// person is refused on the form.
func TestManagerStartsTheirReportsOffboarding(t *testing.T) {
	sp, tc, queue := offboardingPortal(t)
	w := worker.New(tc, queue, worker.Options{})
	registry.Register(w, registry.Deps{DB: sp.db.App, Mailer: &notify.Mailer{Addr: testenv.MailSink(t).Addr(), From: "complyflow@example.com"},
		Links: sp.signer, PortalBaseURL: sp.URL, LinkTTL: time.Hour})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	c := browser(t)
	if code, _ := sp.signIn(t, c, "mia", ""); code != http.StatusSeeOther {
		t.Fatalf("mia's sign-in: %d", code)
	}
	for _, page := range []string{"/", "/team"} {
		if code, body := getPage(t, c, sp.URL+page); code != http.StatusOK || !strings.Contains(body, `href="/offboarding/new"`) {
			t.Errorf("%s: %d, no link to the offboarding form:\n%s", page, code, body)
		}
	}
	code, body := getPage(t, c, sp.URL+"/offboarding/new")
	if code != http.StatusOK || !strings.Contains(body, `<option value="eve">`) || !strings.Contains(body, `<option value="ann">`) ||
		strings.Contains(body, `value="bob"`) || strings.Contains(body, `value="sam"`) || strings.Contains(body, `value="mia"`) {
		t.Fatalf("mia's form: %d, want eve and ann only:\n%s", code, body)
	}
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	code, body = submit(t, c, sp.URL+"/offboarding/new", url.Values{"person": {"eve"}, "last_day": {yesterday}, "reason": {"resigned"}})
	if code != http.StatusOK || !strings.Contains(body, `<code id="offboarding-id">offboarding/eve</code>`) ||
		!strings.Contains(body, `href="/offboarding/eve/status"`) {
		t.Fatalf("start: %d\n%s", code, body)
	}
	defer tc.TerminateWorkflow(context.Background(), "offboarding/eve", "", "test over")
	desc, err := tc.DescribeWorkflowExecution(context.Background(), "offboarding/eve", "")
	if err != nil || desc.WorkflowExecutionInfo.Status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("offboarding/eve: %v %v, want running", desc, err)
	}
	eventually(t, "each owner's removal task", func() bool {
		var n int
		sp.db.Owner.Get(&n, `SELECT count(*) FROM tasks WHERE status = 'open' AND subject LIKE 'Remove Eve Employee''s access to %'
			AND (assignee_id, subject LIKE '%Wiki%') IN (('bob', true), ('sam', false))`)
		return n == 2
	})
	var actor, reason string
	if err := sp.db.Owner.QueryRow(`SELECT actor, detail ->> 'reason' FROM audit_log WHERE action = 'offboarding.started' AND subject = 'offboarding/eve'`).
		Scan(&actor, &reason); err != nil || actor != "mia" || reason != "resigned" {
		t.Errorf("offboarding.started audited by %q with reason %q (%v), want mia, resigned", actor, reason, err)
	}
	if code, body := getPage(t, c, sp.URL+"/offboarding/eve/status"); code != http.StatusOK || !strings.Contains(body, "<td>sys-wiki</td>") ||
		!strings.Contains(body, "<td>task</td>") {
		t.Errorf("status page: %d\n%s", code, body)
	}
	code, body = submit(t, c, sp.URL+"/offboarding/new", url.Values{"person": {"eve"}, "last_day": {yesterday}})
	if code != http.StatusBadRequest || !strings.Contains(body, "offboarding offboarding/eve is already running") {
		t.Errorf("second start: %d\n%s", code, body)
	}
}

// Refusals start nothing and say why on the form: a manager naming someone
// who does not report to them (audited), a last day that is not a date or
// too far back; reading the status of someone not theirs is 403 (audited);
// an employee may not open the form at all (403, audited);
// an officer may offboard anyone active but not someone offboarded already.
func TestOffboardingFormRefusals(t *testing.T) {
	sp, tc, queue := offboardingPortal(t)
	mia := browser(t)
	if code, _ := sp.signIn(t, mia, "mia", ""); code != http.StatusSeeOther {
		t.Fatalf("mia's sign-in: %d", code)
	}
	code, body := submit(t, mia, sp.URL+"/offboarding/new", url.Values{"person": {"bob"}, "last_day": {time.Now().UTC().Format(time.DateOnly)}})
	if code != http.StatusBadRequest || !strings.Contains(body, "bob is not someone you may offboard") || strings.Contains(body, "sam") {
		t.Errorf("mia offboarding bob: %d\n%s", code, body)
	}
	if n := sp.audited(t, "offboarding.refused", "offboarding/bob"); n != 1 {
		t.Errorf("the refusal audited %d times, want 1", n)
	}
	notStarted(t, tc, queue, "bob")
	if code, _ := getPage(t, mia, sp.URL+"/offboarding/bob/status"); code != http.StatusForbidden {
		t.Errorf("mia reading bob's offboarding: %d, want 403", code)
	}
	if n := sp.audited(t, "portal.refused", "GET /offboarding/bob/status"); n != 1 {
		t.Errorf("the status refusal audited %d times, want 1", n)
	}
	for lastDay, want := range map[string]string{
		"next friday": "last day &#34;next friday&#34; is not a date such as 2026-12-18",
		time.Now().UTC().AddDate(0, 0, -60).Format(time.DateOnly): "is more than 30 days ago",
		"": "Give their last day.",
	} {
		code, body := submit(t, mia, sp.URL+"/offboarding/new", url.Values{"person": {"eve"}, "last_day": {lastDay}, "reason": {"kept"}})
		if code != http.StatusBadRequest || !strings.Contains(body, want) || !strings.Contains(body, `<option value="eve" selected>`) ||
			!strings.Contains(body, ">kept</textarea>") {
			t.Errorf("last day %q: %d, want %q on the form, kept as filled in:\n%s", lastDay, code, want, body)
		}
	}
	notStarted(t, tc, queue, "eve")

	eve := browser(t)
	if code, _ := sp.signIn(t, eve, "eve", ""); code != http.StatusSeeOther {
		t.Fatalf("eve's sign-in: %d", code)
	}
	if code, _ := getPage(t, eve, sp.URL+"/offboarding/new"); code != http.StatusForbidden {
		t.Errorf("employee's form: %d, want 403", code)
	}
	if code, _ := submit(t, eve, sp.URL+"/offboarding/new", url.Values{"person": {"ann"}, "last_day": {time.Now().UTC().Format(time.DateOnly)}}); code != http.StatusForbidden {
		t.Errorf("employee's start: %d, want 403", code)
	}
	if n := sp.audited(t, "portal.refused", "% /offboarding/new"); n != 2 {
		t.Errorf("employee refusals audited %d times, want 2", n)
	}
	notStarted(t, tc, queue, "ann")

	sam := browser(t)
	if code, _ := sp.signIn(t, sam, "sam", sp.code(t, "sam", time.Now())); code != http.StatusSeeOther {
		t.Fatalf("sam's sign-in: %d", code)
	}
	code, body = getPage(t, sam, sp.URL+"/offboarding/new")
	if code != http.StatusOK || !strings.Contains(body, `<option value="bob">`) || !strings.Contains(body, `<option value="ann">`) ||
		strings.Contains(body, `value="lee"`) {
		t.Errorf("officer's form: %d, want everyone active, not lee who left:\n%s", code, body)
	}
	sp.db.Owner.MustExec(`INSERT INTO offboardings (run_id, workflow_id, person_id, last_day, started_by, status, closed_at)
		VALUES ('r-lee', 'offboarding/lee', 'lee', '2020-01-01', 'sam', 'completed', '2020-01-03')`)
	code, body = submit(t, sam, sp.URL+"/offboarding/new", url.Values{"person": {"lee"}, "last_day": {time.Now().UTC().Format(time.DateOnly)}})
	if code != http.StatusBadRequest || !strings.Contains(body, "lee left on 2020-01-01 and was already offboarded (completed 2020-01-03)") {
		t.Errorf("lee offboarded again: %d\n%s", code, body)
	}
	notStarted(t, tc, queue, "lee")
}
