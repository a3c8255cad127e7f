package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"

	"github.com/complyflow/complyflow/activities/notify"
	changeact "github.com/complyflow/complyflow/activities/policychange"
	exceptionact "github.com/complyflow/complyflow/activities/policyexception"
	"github.com/complyflow/complyflow/workflows/campaign"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/policychange"
	"github.com/complyflow/complyflow/workflows/policyexception"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/policy"
)

func seedPolicies(t *testing.T, db *testenv.DB) {
	t.Helper()
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'),
			('cleo', 'cleo@example.com', 'Cleo CEO'), ('coby', 'coby@example.com', 'Coby COO'), ('eve', 'eve@example.com', 'Eve Employee');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam'), ('ceo', 'cleo'), ('coo', 'coby');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES ('access', 'Access Control Policy', 'sam', 'policies/access.md', '2023-01-10');
	`)
}

// approveAll answers every human task at once: approved by its assignee.
func approveAll(ctx workflow.Context, in humantask.Input) (humantask.Outcome, error) {
	return humantask.Outcome{TaskID: in.TaskID, Action: humantask.ActionApprove, By: in.AssigneeID, At: workflow.Now(ctx)}, nil
}

// policyWorker runs the policy workflows on the test's servers, human tasks
// answered by humanTask.
func policyWorker(t *testing.T, db *testenv.DB, humanTask func(workflow.Context, humantask.Input) (humantask.Outcome, error)) {
	t.Helper()
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	w := worker.New(testenv.Temporal(t), testenv.TaskQueue(t), worker.Options{})
	w.RegisterWorkflowWithOptions(humanTask, workflow.RegisterOptions{Name: humantask.WorkflowName})
	w.RegisterWorkflowWithOptions(policychange.Workflow, workflow.RegisterOptions{Name: policychange.WorkflowName})
	w.RegisterWorkflowWithOptions(policyexception.Workflow, workflow.RegisterOptions{Name: policyexception.WorkflowName})
	w.RegisterActivity(&changeact.Activities{DB: db.App})
	w.RegisterActivity(&exceptionact.Activities{DB: db.App})
	w.RegisterActivity(&notify.Messages{DB: db.App, Mailer: &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}})
	w.RegisterActivity(&changeact.Announcer{DB: db.App, Pool: notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 2)})
	// A material change starts its re-acknowledgement campaign.
	w.RegisterWorkflowWithOptions(campaign.Workflow, workflow.RegisterOptions{Name: campaign.WorkflowName})
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("starter-test-link-key-012345678")}})
	if err != nil {
		t.Fatal(err)
	}
	w.RegisterActivity(&campaignact.Activities{DB: db.App, Pool: notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 2),
		Links: signer, BaseURL: "https://comply.example.com", LinkTTL: time.Hour})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

func TestChangeRequestCommandPublishesAndRecordsShowArchive(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	policyWorker(t, db, approveAll)

	code, out, errOut := starterIn(t, db, "change-request", "--policy", "access", "--kind", "material", "--summary", "require MFA",
		"--reference", "https://git.example.com/policies/pull/12", "--as", "eve")
	if code != 0 || !strings.HasPrefix(out, "change-request/access/") {
		t.Fatalf("change-request: exit %d\n%s%s", code, out, errOut)
	}
	id := strings.TrimSpace(out)
	out = waitForStage(t, db, id, "published")
	for _, want := range []string{"review by sam", "second-approval by cleo", "after archiving 2023.1", "4 people emailed"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	version := time.Now().UTC().Format("2006") + ".1"
	code, out, errOut = starterIn(t, db, "records", "policies", "--policy", "access")
	if code != 0 {
		t.Fatalf("records: exit %d\n%s", code, errOut)
	}
	t.Logf("records policies:\n%s", out)
	lines := strings.Split(out, "\n")
	if len(lines) < 5 || !strings.Contains(lines[0], "current "+version) ||
		!strings.HasPrefix(strings.TrimSpace(lines[2]), "2023.1") || strings.Count(lines[2], "Z ") < 3 || // published, archived, superseded
		!strings.HasPrefix(strings.TrimSpace(lines[3]), version) || !strings.Contains(lines[3], id) ||
		!strings.Contains(out, "announced "+version+" by email: 4 sent, 0 failed: cleo, coby, eve, sam") {
		t.Errorf("records policies does not show the archived version, the new one and who was told:\n%s", out)
	}
}

// waitForStage polls `change-request status` until the request reaches stage.
func waitForStage(t *testing.T, db *testenv.DB, id, stage string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, errOut := starterIn(t, db, "change-request", "status", id)
		if code == 0 && strings.Contains(out, id+": "+stage) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %s in time: exit %d\n%s%s", id, stage, code, out, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestChangeRequestResubmitAndWithdrawCommands(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	// The first review rejects; the requester's task waits for someone (or
	// an update) to answer it; everything else is approved.
	policyWorker(t, db, func(ctx workflow.Context, in humantask.Input) (humantask.Outcome, error) {
		switch {
		case strings.HasSuffix(in.TaskID, "/review/1"):
			return humantask.Outcome{TaskID: in.TaskID, Action: humantask.ActionReject, By: in.AssigneeID, Note: "attach the text", At: workflow.Now(ctx)}, nil
		case strings.Contains(in.TaskID, "/returned/"):
			return humantask.Outcome{}, workflow.Await(ctx, func() bool { return false })
		}
		return approveAll(ctx, in)
	})
	textFile := filepath.Join(t.TempDir(), "access.md")
	os.WriteFile(textFile, []byte("2023.1 rev.1\n\nEvery login uses MFA."), 0o644)

	_, out, _ := starterIn(t, db, "change-request", "--policy", "access", "--kind", "minor", "--summary", "MFA wording", "--as", "eve")
	id := strings.TrimSpace(out)
	waitForStage(t, db, id, "returned")
	if code, _, errOut := starterIn(t, db, "change-request", "withdraw", id, "--as", "sam"); code != 2 || !strings.Contains(errOut, "only the requester") {
		t.Errorf("withdraw by someone else: exit %d, %s", code, errOut)
	}
	code, out, errOut := starterIn(t, db, "change-request", "resubmit", id, "--as", "eve", "--text", textFile, "--note", "text attached")
	if code != 0 || strings.TrimSpace(out) != id+": in-review" {
		t.Fatalf("resubmit: exit %d\n%s%s", code, out, errOut)
	}
	waitForStage(t, db, id, "published")
	var body string
	db.App.Get(&body, `SELECT body FROM policy_versions WHERE change_request_id = $1`, id)
	if !strings.Contains(body, "Every login uses MFA.") {
		t.Errorf("published text %q, want the resubmitted file", body)
	}

	_, out, _ = starterIn(t, db, "change-request", "--policy", "access", "--kind", "minor", "--summary", "another", "--as", "eve")
	id = strings.TrimSpace(out)
	waitForStage(t, db, id, "returned")
	if code, out, errOut := starterIn(t, db, "change-request", "withdraw", id, "--as", "eve", "--note", "not needed"); code != 0 || strings.TrimSpace(out) != id+": withdrawn" {
		t.Errorf("withdraw: exit %d\n%s%s", code, out, errOut)
	}
	// Both answers came from an operator's --as: audited as theirs, for eve.
	// (The update answers once the stage moved; the record follows.)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		db.Owner.Get(&n, `SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.response'`, id)
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: withdrawal not audited in time", id)
		}
	}
	operator := cliActor() + " on behalf of eve"
	var actors []string
	if err := db.Owner.Select(&actors, `SELECT DISTINCT action || ' by ' || actor FROM audit_log
		WHERE action IN ('policy.change.resubmitted', 'policy.change.response') ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"policy.change.response by " + operator, "policy.change.resubmitted by " + operator}; !slices.Equal(actors, want) {
		t.Errorf("audited %q, want %q", actors, want)
	}
	var decidedBy string
	db.Owner.Get(&decidedBy, `SELECT decided_by FROM change_request_decisions WHERE request_id = $1 AND step = 'response'`, id)
	if decidedBy != "eve" {
		t.Errorf("withdrawal decided by %q, want the requester eve", decidedBy)
	}
}

func TestChangeRequestCommandRefusesBadInput(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"change-request", "--policy", "access", "--kind", "major", "--summary", "x"}, "expected material or minor"},
		{[]string{"change-request", "--policy", "nope", "--kind", "material", "--summary", "x", "--as", "eve"}, `policy "nope" is not in the program`},
		{[]string{"change-request", "--policy", "access", "--kind", "material"}, "--policy and --summary are required"},
		{[]string{"change-request", "--policy", "access", "--kind", "minor", "--summary", "x", "--as", "ghost"}, `person "ghost" is not in the directory`},
		// Never filed in the policy owner's name unconfirmed.
		{[]string{"change-request", "--policy", "access", "--kind", "minor", "--summary", "x"}, "--as is required"},
		// The only officer would review their own request.
		{[]string{"change-request", "--policy", "access", "--kind", "minor", "--summary", "x", "--as", "sam"},
			"only the requester, sam, holds the role security_officer or privacy_officer to review the request"},
		{[]string{"change-request", "--policy", "access", "--kind", "material", "--summary", "x", "--as", "cleo"},
			"only the requester, cleo, holds the role ceo or ceo_designee"},
		{[]string{"exception", "--policy", "access", "--purpose", "p", "--reason", "r", "--as", "eve",
			"--expires", time.Now().AddDate(1, 0, 2).Format(time.DateOnly)}, "expires at most one year after approval"},
		{[]string{"exception", "--policy", "access", "--reason", "r", "--as", "eve",
			"--expires", time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, "must document the business purpose"},
		{[]string{"records", "policies", "--policy", "nope"}, "not in the program"},
	} {
		code, _, errOut := starterIn(t, db, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, %q; want exit 2 with one line saying %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestChangeRequestStatusFromRecordsWhenTemporalHasNone(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	a := &changeact.Activities{DB: db.App}
	ctx := context.Background()
	id := "change-request/access/long-ago"
	at := time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC)
	if _, err := a.OpenChangeRequest(ctx, changeact.OpenChangeRequestInput{ID: id, PolicyID: "access", Kind: policy.Material,
		Summary: "require MFA", RequesterID: "eve", At: at}); err != nil {
		t.Fatal(err)
	}
	if err := a.RecordChangeDecision(ctx, changeact.ChangeDecisionInput{RequestID: id, Round: 1, Step: "review", By: "sam",
		Action: "approve", Note: "fine", At: at.Add(time.Hour), Status: changeact.StatusApproved}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PublishPolicyVersion(ctx, changeact.PublishInput{RequestID: id, PolicyID: "access", Kind: policy.Material,
		Summary: "require MFA", Body: "text requiring MFA", PublishedBy: "sam", ChangeAt: at}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := starterIn(t, db, "change-request", "status", id)
	for _, want := range []string{id + ": published", "round 1:  submitted 2024-02-01T09:00:00Z: require MFA",
		"review by sam at 2024-02-01T10:00:00Z: approve: fine", "published: 2024.1 at", "after archiving 2023.1"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status from the records lacks %q: exit %d\n%s%s", want, code, out, errOut)
		}
	}
	if code, _, errOut := starterIn(t, db, "change-request", "status", "change-request/access/never"); code != 2 || !strings.Contains(errOut, "no change request") {
		t.Errorf("unknown request: exit %d, %s", code, errOut)
	}
}

func TestExceptionCommandStartsAndReportsStatus(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	policyWorker(t, db, approveAll)
	expires := time.Now().AddDate(0, 6, 0).Format(time.DateOnly)
	code, out, errOut := starterIn(t, db, "exception", "--policy", "access", "--purpose", "legacy VPN for a customer",
		"--reason", "the appliance cannot do MFA", "--expires", expires, "--as", "eve")
	if code != 0 || !strings.HasPrefix(out, "policy-exception/access/") {
		t.Fatalf("exception: exit %d\n%s%s", code, out, errOut)
	}
	id := strings.TrimSpace(out)
	// Wait for everything the assertion needs, not only the stage.
	wants := []string{id + ": approved (round 1)", "expires " + expires + "T00:00:00Z", "security_officer by sam", "coo by coby"}
	has := func(out string) bool {
		for _, want := range wants {
			if !strings.Contains(out, want) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, errOut = starterIn(t, db, "exception", "status", id)
		if code == 0 && has(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status lacks one of %q in time: exit %d\n%s%s", wants, code, out, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// It would wait out its term: end it with the test.
	c := testenv.Temporal(t)
	t.Cleanup(func() { c.TerminateWorkflow(context.Background(), id, "", "test over") })
}

// A request refused at publish because another change was published since
// its review shows as returned, with the reason, in the status rebuilt from
// the records.
func TestChangeRequestStatusFromRecordsShowsSuperseded(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	a := &changeact.Activities{DB: db.App}
	ctx := context.Background()
	at := time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{"change-request/access/mine", "change-request/access/theirs"} {
		if _, err := a.OpenChangeRequest(ctx, changeact.OpenChangeRequestInput{ID: id, PolicyID: "access", Kind: policy.Minor,
			Summary: "wording", RequesterID: "eve", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.PublishPolicyVersion(ctx, changeact.PublishInput{RequestID: "change-request/access/theirs", Round: 1, PolicyID: "access",
		Kind: policy.Minor, Summary: "wording", Body: "reworded text", PublishedBy: "sam", ChangeAt: at}); err != nil {
		t.Fatal(err)
	}
	_, err := a.PublishPolicyVersion(ctx, changeact.PublishInput{RequestID: "change-request/access/mine", Round: 1, PolicyID: "access",
		Kind: policy.Minor, Summary: "wording", Body: "reworded text", PublishedBy: "sam", ChangeAt: at})
	if err == nil || !strings.Contains(err.Error(), "now at version 2023.1 rev.1") {
		t.Fatalf("publishing over a newer version: %v, want refused naming 2023.1 rev.1", err)
	}
	code, out, errOut := starterIn(t, db, "change-request", "status", "change-request/access/mine")
	for _, want := range []string{"change-request/access/mine: returned", "superseded by complyflow at", "now at version 2023.1 rev.1"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status from the records lacks %q: exit %d\n%s%s", want, code, out, errOut)
		}
	}
}

// A request waiting for its change-management reference says so, asked of
// the workflow and from the records alike (before, the records said
// approved: the stage was in the workflow's memory only).
func TestChangeRequestStatusShowsAwaitingProductionChange(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	policyWorker(t, db, func(ctx workflow.Context, in humantask.Input) (humantask.Outcome, error) {
		if strings.Contains(in.TaskID, "/production-change/") {
			return humantask.Outcome{}, workflow.Await(ctx, func() bool { return false })
		}
		return approveAll(ctx, in)
	})
	code, out, errOut := starterIn(t, db, "change-request", "--policy", "access", "--kind", "minor", "--summary", "log retention",
		"--needs-production-change", "--as", "eve")
	if code != 0 {
		t.Fatalf("change-request: exit %d\n%s%s", code, out, errOut)
	}
	id := strings.TrimSpace(out)
	c := testenv.Temporal(t)
	t.Cleanup(func() { c.TerminateWorkflow(context.Background(), id, "", "test over") })
	waitForStage(t, db, id, "awaiting-production-change")

	// A namespace the server does not have: the workflow cannot answer.
	t.Setenv("TEMPORAL_NAMESPACE", "no-such-namespace")
	code, out, errOut = starterIn(t, db, "change-request", "status", id)
	if code != 0 || !strings.Contains(errOut, "from the records") || !strings.Contains(out, id+": awaiting-production-change") {
		t.Errorf("status from the records: exit %d\n%s%s", code, out, errOut)
	}
}

// What an operator files with --as is recorded as filed by them on the
// person's behalf, and the same request submitted twice is one request: the
// second submission names the first and starts nothing.
func TestChangeRequestAndExceptionCommandsRecordTheOperatorAndStartOnce(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	policyWorker(t, db, approveAll)
	c := testenv.Temporal(t)
	want := cliActor() + " on behalf of eve"
	expires := time.Now().AddDate(0, 6, 0).Format(time.DateOnly)
	for _, tc := range []struct {
		args   []string
		action string
		table  string
	}{
		{[]string{"change-request", "--policy", "access", "--kind", "material", "--summary", "require MFA, filed by an operator", "--as", "eve"},
			"policy.change.requested", "change_requests"},
		{[]string{"exception", "--policy", "access", "--purpose", "legacy VPN, filed by an operator", "--reason", "no MFA", "--expires", expires, "--as", "eve"},
			"policy.exception.requested", "policy_exceptions"},
	} {
		code, out, errOut := starterIn(t, db, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", tc.args, code, out, errOut)
		}
		id := strings.TrimSpace(out)
		t.Cleanup(func() { c.TerminateWorkflow(context.Background(), id, "", "test over") })
		code, again, errOut := starterIn(t, db, tc.args...)
		if code != 0 || strings.TrimSpace(again) != id || !strings.Contains(errOut, id+" already exists") {
			t.Errorf("%v again: exit %d, %q, %q; want the same ID %s, said to exist already", tc.args, code, again, errOut, id)
		}
		deadline := time.Now().Add(20 * time.Second)
		var actor string
		for err := db.Owner.Get(&actor, `SELECT actor FROM audit_log WHERE subject = $1 AND action = $2 LIMIT 1`, id, tc.action); err != nil; err = db.Owner.Get(&actor, `SELECT actor FROM audit_log WHERE subject = $1 AND action = $2 LIMIT 1`, id, tc.action) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %s audit entry in time: %v", id, tc.action, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if actor != want {
			t.Errorf("%s: %s by %q, want %q", id, tc.action, actor, want)
		}
		var requester string
		var n int
		if err := db.Owner.Get(&n, `SELECT count(*) FROM `+tc.table+` WHERE policy_id = 'access'`); err != nil || n != 1 {
			t.Errorf("%s rows for access: %d, %v; want one request", tc.table, n, err)
		}
		if err := db.Owner.Get(&requester, `SELECT requester_id FROM `+tc.table+` WHERE id = $1`, id); err != nil || requester != "eve" {
			t.Errorf("%s: requester %q, %v; want eve", id, requester, err)
		}
	}
}
