package workflows

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/activities"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/testenv"
)

// answer is what a scripted person does with a task, after a while.
type answer struct {
	after  time.Duration
	by     string
	action Action
	note   string
	// also runs as the task completes, e.g. to race an update against it
	also func()
}

// policyHarness runs the policy workflows with time skipping against a real
// Postgres and a real SMTP server, with human tasks answered from a script.
type policyHarness struct {
	testsuite.WorkflowTestSuite
	t          *testing.T
	env        *testsuite.TestWorkflowEnvironment
	db         *testenv.DB
	sink       *devmail.Sink
	script     map[string]answer // by task ID
	tasks      []HumanTaskInput  // every task started, in order
	started    map[string]time.Time
	activities []activityCall
	slack      *activities.Slack // the announcement channel's Slack, nil: not configured
	mailer     *activities.Mailer
}

func newPolicyHarness(t *testing.T, start time.Time) *policyHarness {
	h := &policyHarness{t: t, db: testenv.Postgres(t), sink: &devmail.Sink{}, script: map[string]answer{}, started: map[string]time.Time{}}
	seedPolicyWorld(t, h.db)
	if err := h.sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	h.mailer = &activities.Mailer{Addr: h.sink.Addr(), From: "complyflow@example.com"}
	t.Cleanup(func() { h.sink.Close() })
	h.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	h.newEnv(start)
	return h
}

// newEnv starts a fresh test environment on the same database and mailbox,
// e.g. for the run a continue-as-new starts.
func (h *policyHarness) newEnv(start time.Time) {
	h.env = h.NewTestWorkflowEnvironment()
	h.env.SetStartTime(start)
	h.env.RegisterWorkflowWithOptions(h.fakeHumanTask, workflow.RegisterOptions{Name: HumanTaskWorkflow})
	h.env.RegisterWorkflowWithOptions(PolicyChangeRequest, workflow.RegisterOptions{Name: PolicyChangeRequestWorkflow})
	h.env.RegisterWorkflowWithOptions(PolicyException, workflow.RegisterOptions{Name: PolicyExceptionWorkflow})
	h.env.RegisterWorkflowWithOptions(AnnualPolicyReview, workflow.RegisterOptions{Name: AnnualPolicyReviewWorkflow})
	h.env.RegisterActivity(&activities.Policies{DB: h.db.App})
	h.env.RegisterActivity(&activities.Announcer{DB: h.db.App, Mailer: h.mailer, Slack: h.slack, Channel: "#security-policies"})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		h.activities = append(h.activities, activityCall{info.ActivityType.Name, h.env.Now()})
	})
}

type activityCall struct {
	name string
	at   time.Time
}

// calls lists when each call of the named activity started.
func (h *policyHarness) calls(name string) []time.Time {
	var at []time.Time
	for _, c := range h.activities {
		if c.name == name {
			at = append(at, c.at)
		}
	}
	return at
}

// seedPolicyWorld is the program as `starter program apply` leaves it, with
// both policies registered in 2023, so at version 2023.1.
func seedPolicyWorld(t *testing.T, db *testenv.DB) {
	t.Helper()
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES
			('sam', 'sam@example.com', 'Sam Officer'), ('pat', 'pat@example.com', 'Pat Privacy'),
			('cleo', 'cleo@example.com', 'Cleo CEO'), ('dee', 'dee@example.com', 'Dee Designee'),
			('coby', 'coby@example.com', 'Coby COO'), ('eve', 'eve@example.com', 'Eve Employee');
		INSERT INTO people (id, email, name, end_date) VALUES ('lee', 'lee@example.com', 'Lee Left', '2020-01-01');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam'), ('privacy_officer', 'pat'),
			('ceo', 'cleo'), ('ceo_designee', 'dee'), ('coo', 'coby'), ('review_committee', 'pat'), ('review_committee', 'eve');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES
			('access', 'Access Control Policy', 'sam', 'policies/access.md', '2023-01-10'),
			('privacy', 'Privacy Policy', 'pat', 'policies/privacy.md', '2023-01-10');
		INSERT INTO controls (id, title, processes) VALUES ('personnel-accountability', 'Personnel Accountability',
			'{policy-change-request,policy-exception,annual-policy-review}');
	`)
}

func (h *policyHarness) on(taskID string, a answer) { h.script[taskID] = a }

func (h *policyHarness) fakeHumanTask(ctx workflow.Context, in HumanTaskInput) (TaskOutcome, error) {
	h.tasks = append(h.tasks, in)
	h.started[in.TaskID] = workflow.Now(ctx)
	a, ok := h.script[in.TaskID]
	if !ok {
		return TaskOutcome{}, temporal.NewNonRetryableApplicationError("no scripted answer for "+in.TaskID, "Unscripted", nil)
	}
	if err := workflow.Sleep(ctx, a.after); err != nil {
		return TaskOutcome{}, err
	}
	if a.also != nil {
		a.also()
	}
	return TaskOutcome{TaskID: in.TaskID, Action: a.action, By: a.by, Note: a.note, At: workflow.Now(ctx)}, nil
}

func (h *policyHarness) task(id string) HumanTaskInput {
	for _, t := range h.tasks {
		if t.TaskID == id {
			return t
		}
	}
	h.t.Fatalf("no task %s was started; tasks: %v", id, h.taskIDs())
	return HumanTaskInput{}
}

func (h *policyHarness) taskIDs() []string {
	ids := make([]string, len(h.tasks))
	for i, t := range h.tasks {
		ids[i] = t.TaskID
	}
	return ids
}

func (h *policyHarness) runChange(id string, in PolicyChangeInput) PolicyChangeStatus {
	h.t.Helper()
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.env.ExecuteWorkflow(PolicyChangeRequestWorkflow, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var st PolicyChangeStatus
	if err := h.env.GetWorkflowResult(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *policyHarness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.db.Owner.Get(&n, query, args...); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestPolicyChangeApprovePath(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "typo")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove, note: "fine"})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "minor", Summary: "fix a typo in §2", Text: "v1 fixed", RequesterID: "eve"})

	if st.Stage != StagePublished || st.Version != "2023.1 rev.1" || st.ArchivedVersion != "" {
		t.Errorf("result %+v, want 2023.1 rev.1 published with nothing archived", st)
	}
	if got := strings.Join(h.taskIDs(), ","); got != HumanTaskID(id, "review/1") {
		t.Errorf("tasks %s: a minor change needs the officer's review only", got)
	}
	review := h.task(HumanTaskID(id, "review/1"))
	if review.AssigneeID != "sam" || review.ControlID != "personnel-accountability" || review.ParentRef != id {
		t.Errorf("review task %+v", review)
	}
	if n := h.count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'published' AND published_version = '2023.1 rev.1'`, id); n != 1 {
		t.Error("change request not recorded as published")
	}
	if n := h.count(`SELECT count(*) FROM policy_versions WHERE policy_id = 'access' AND archived_at IS NOT NULL`); n != 0 {
		t.Errorf("a revision archived %d versions", n)
	}
	if n := h.count(`SELECT count(*) FROM policy_acknowledgements_owed`); n != 0 {
		t.Error("a revision is owed a re-acknowledgement")
	}
	// Everyone active was told, and it is recorded who.
	if n := h.count(`SELECT count(*) FROM notifications WHERE task_id = $1 AND purpose = 'policy-announcement' AND status = 'sent'`, id); n != 6 || st.Announced != 6 || len(h.sink.Messages()) != 6 {
		t.Errorf("announced to %d (result %d, mails %d), want the 6 active people", n, st.Announced, len(h.sink.Messages()))
	}
	for _, action := range []string{"policy.change.requested", "policy.change.review", "policy.change.announced"} {
		if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = $2 AND control_id = 'personnel-accountability'`, id, action); n != 1 {
			t.Errorf("%d %s audit entries", n, action)
		}
	}
}

func TestPolicyChangeRejectResubmitApprove(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "wording")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionReject, note: "cite the control"})
	h.on(HumanTaskID(id, "returned/1"), answer{after: 2 * day, by: "eve", action: ActionDone, note: "https://git.example.com/policies/pull/7"})
	h.on(HumanTaskID(id, "review/2"), answer{after: day, by: "sam", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "minor", Summary: "clarify wording", RequesterID: "eve"})

	if st.Stage != StagePublished || len(st.Rounds) != 2 {
		t.Fatalf("result %+v, want published after 2 rounds", st)
	}
	returned := h.task(HumanTaskID(id, "returned/1"))
	if returned.AssigneeID != "eve" || !strings.Contains(returned.Body, "cite the control") {
		t.Errorf("the rejection did not go back to the requester with the officer's note: %+v", returned)
	}
	if d := st.Rounds[0].Decisions; len(d) != 2 || d[0].Action != ActionReject || d[1].Step != "response" {
		t.Errorf("round 1 decisions %+v", d)
	}
	if n := h.count(`SELECT count(*) FROM change_request_rounds WHERE request_id = $1`, id); n != 2 {
		t.Errorf("%d rounds recorded, want 2", n)
	}
	if n := h.count(`SELECT count(*) FROM change_request_rounds WHERE request_id = $1 AND round = 2
		AND reference = 'https://git.example.com/policies/pull/7' AND submitted_by = 'eve'`, id); n != 1 {
		t.Error("the resubmission's reference was not recorded")
	}
	if n := h.count(`SELECT count(*) FROM change_request_decisions WHERE request_id = $1`, id); n != 3 {
		t.Errorf("%d decisions recorded, want 3 (reject, resubmit, approve)", n)
	}
}

func TestPolicyChangeWithdrawal(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "drop")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionReject, note: "out of scope"})
	h.on(HumanTaskID(id, "returned/1"), answer{after: day, by: "eve", action: ActionReject, note: "agreed, withdrawing"})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "remove §4", RequesterID: "eve"})

	if st.Stage != StageWithdrawn || st.Version != "" {
		t.Errorf("result %+v, want withdrawn with nothing published", st)
	}
	if n := h.count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'withdrawn' AND closed_at IS NOT NULL`, id); n != 1 {
		t.Error("change request not recorded as withdrawn")
	}
	if n := h.count(`SELECT count(*) FROM policy_versions WHERE policy_id = 'access'`); n != 1 {
		t.Errorf("%d versions after a withdrawal, want the original 1", n)
	}
	if len(h.sink.Messages()) != 0 {
		t.Errorf("a withdrawn change was announced")
	}
}

func TestPolicyChangeMajorNeedsSecondApproval(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "mfa")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "second-approval/1"), answer{after: day, by: "cleo", action: ActionReject, note: "cost it first"})
	h.on(HumanTaskID(id, "returned/1"), answer{after: day, by: "eve", action: ActionDone, note: "costed in the PR description"})
	h.on(HumanTaskID(id, "review/2"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "second-approval/2"), answer{after: 3 * day, by: "dee", action: ActionApprove, note: "as designee"})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "require MFA", Text: "v2", RequesterID: "eve"})

	if st.Stage != StagePublished || st.Version != "2023.2" {
		t.Fatalf("result %+v", st)
	}
	ceo := h.task(HumanTaskID(id, "second-approval/1"))
	if want := []EscalationStep{{To: "role:ceo_designee", Except: []string{"eve"}}}; ceo.AssigneeID != "cleo" || !reflect.DeepEqual(ceo.Escalation, want) {
		t.Errorf("second approval task %+v: want the CEO, escalating to the designees but the requester", ceo)
	}
	// The CEO's rejection sent it back; nothing was published in round 1.
	if got := strings.Join(h.taskIDs(), ","); !strings.Contains(got, "returned/1") {
		t.Errorf("tasks %s", got)
	}
	if n := h.count(`SELECT count(*) FROM change_request_decisions WHERE request_id = $1 AND step = 'second-approval'`, id); n != 2 {
		t.Errorf("%d second-approval decisions, want 2", n)
	}
	var by string
	h.db.Owner.Get(&by, `SELECT published_by FROM policy_versions WHERE change_request_id = $1`, id)
	if by != "dee" {
		t.Errorf("published on %q's approval, want the designee's", by)
	}
}

func TestPolicyChangeProductionChangeGate(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "logging")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "production-change/1"), answer{after: 2 * day, by: "eve", action: ActionDone})
	h.on(HumanTaskID(id, "production-change/2"), answer{after: 5 * day, by: "eve", action: ActionDone, note: "CHG-1042"})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "minor", Summary: "log retention 1y", RequesterID: "eve", NeedsProductionChange: true})

	if st.Stage != StagePublished || st.ProductionChangeRef != "CHG-1042" {
		t.Fatalf("result %+v", st)
	}
	if h.task(HumanTaskID(id, "production-change/1")).AssigneeID != "eve" {
		t.Error("the change-management reference was not asked of the requester")
	}
	if n := h.count(`SELECT count(*) FROM change_requests WHERE id = $1 AND production_change_ref = 'CHG-1042'`, id); n != 1 {
		t.Error("reference not recorded")
	}
	// Published only after the reference came.
	if n := h.count(`SELECT count(*) FROM audit_log a, audit_log b WHERE a.action = 'policy.change.production-change' AND a.subject = $1
		AND b.action = 'policy.version.published' AND b.detail->>'change_request' = $1 AND a.id < b.id`, id); n != 1 {
		t.Error("the version was not published after the change-management reference")
	}
}

func TestPolicyChangeArchivesBeforePublishing(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "v2")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "second-approval/1"), answer{after: day, by: "cleo", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "new statement (e)", Text: "v2", RequesterID: "eve"})

	if st.Version != "2023.2" || st.ArchivedVersion != "2023.1" {
		t.Fatalf("result %+v, want 2023.2 after archiving 2023.1", st)
	}
	if n := h.count(`SELECT count(*) FROM policy_versions old, policy_versions new
		WHERE old.policy_id = 'access' AND old.version = '2023.1' AND new.policy_id = 'access' AND new.version = '2023.2'
		AND old.archived_at < new.published_at AND old.superseded_at = new.published_at AND new.body = 'v2'`); n != 1 {
		t.Error("2023.1 was not archived before 2023.2 was published")
	}
	if n := h.count(`SELECT count(*) FROM policy_acknowledgements_owed WHERE policy_id = 'access' AND version = '2023.2' AND change_request_id = $1`, id); n != 1 {
		t.Error("the material change is not recorded as owing a re-acknowledgement")
	}
	// And the database refuses the other order outright.
	_, err := h.db.App.Exec(`INSERT INTO policy_versions (policy_id, year, seq, kind, content_sha256, published_by, published_at)
		VALUES ('access', 2023, 3, 'material', 'x', 'sam', now())`)
	if err == nil || !strings.Contains(err.Error(), "must be archived before") {
		t.Errorf("publishing 2023.3 without archiving 2023.2: %v", err)
	}
}

func TestPolicyChangeVersionAcrossYearBoundary(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 12, 28, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "new-year")
	h.on(HumanTaskID(id, "review/1"), answer{after: 2 * day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "second-approval/1"), answer{after: 5 * day, by: "cleo", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "annual refresh", RequesterID: "eve"})
	if st.Version != "2024.1" || st.ArchivedVersion != "2023.1" {
		t.Errorf("approved in January 2024: published %q archiving %q, want 2024.1 archiving 2023.1", st.Version, st.ArchivedVersion)
	}
}

func TestPolicyChangeRefusesUnknownPolicy(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.env.ExecuteWorkflow(PolicyChangeRequestWorkflow, PolicyChangeInput{PolicyID: "nope", Kind: "material", Summary: "x", RequesterID: "eve"})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), `policy "nope" is not in the program`) {
		t.Errorf("unknown policy: %v", err)
	}
	if len(h.tasks) != 0 {
		t.Errorf("tasks started for a refused request: %v", h.taskIDs())
	}
}

func TestPolicyChangeProductDevelopmentNeedsHeadOfEngineering(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('hank', 'hank@example.com', 'Hank Head of Engineering');
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'hank');
		INSERT INTO policies (id, title, owner_id, created_at) VALUES ('sdlc', 'Secure Development Policy', 'hank', '2023-01-10');`)
	id := PolicyChangeRequestID("sdlc", "review-rule")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "engineering-approval/1"), answer{after: day, by: "hank", action: ActionReject, note: "two reviewers, not one"})
	h.on(HumanTaskID(id, "returned/1"), answer{after: day, by: "eve", action: ActionDone, note: "now two reviewers"})
	h.on(HumanTaskID(id, "review/2"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "engineering-approval/2"), answer{after: day, by: "hank", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "sdlc", Kind: "minor", Summary: "code review by two", RequesterID: "eve"})

	if st.Stage != StagePublished || st.Version != "2023.1 rev.1" || len(st.Rounds) != 2 {
		t.Fatalf("result %+v", st)
	}
	if h.task(HumanTaskID(id, "engineering-approval/1")).AssigneeID != "hank" {
		t.Error("the Head of Engineering was not asked")
	}
	if n := h.count(`SELECT count(*) FROM change_request_decisions WHERE request_id = $1 AND step = 'engineering-approval'`, id); n != 2 {
		t.Errorf("%d engineering approvals recorded, want 2", n)
	}
}

func TestPolicyChangeResubmitAndWithdrawByUpdate(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "by-update")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionReject, note: "attach the text"})
	h.on(HumanTaskID(id, "returned/1"), answer{after: 30 * day, by: "eve", action: ActionDone})
	h.on(HumanTaskID(id, "review/2"), answer{after: day, by: "sam", action: ActionReject, note: "still not right"})
	h.on(HumanTaskID(id, "returned/2"), answer{after: 30 * day, by: "eve", action: ActionDone})
	type call struct {
		name string
		arg  any
		err  error
		res  string
	}
	calls := []*call{
		{name: UpdateResubmit, arg: ResubmitRequest{PersonID: "mallory", Text: "v2"}}, // not the requester
		{name: UpdateResubmit, arg: ResubmitRequest{PersonID: "eve", Text: "v2 with the MFA statement", Note: "text attached"}},
		{name: UpdateWithdraw, arg: WithdrawRequest{PersonID: "eve", Note: "giving up"}},
	}
	at := []time.Duration{2 * day, 2*day + time.Hour, 5 * day}
	for i, c := range calls {
		h.env.RegisterDelayedCallback(func() {
			h.env.UpdateWorkflow(c.name, fmt.Sprint(i), &testsuite.TestUpdateCallback{
				OnReject:   func(err error) { c.err = err },
				OnAccept:   func() {},
				OnComplete: func(res any, err error) { c.err = err; c.res, _ = res.(string) },
			}, c.arg)
		}, at[i])
	}
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "minor", Summary: "MFA wording", RequesterID: "eve"})

	if calls[0].err == nil || !strings.Contains(calls[0].err.Error(), "only the requester") {
		t.Errorf("a resubmission by someone else: %v", calls[0].err)
	}
	if calls[1].err != nil || calls[1].res != StageInReview || calls[2].err != nil || calls[2].res != StageWithdrawn {
		t.Errorf("resubmit: %q %v; withdraw: %q %v", calls[1].res, calls[1].err, calls[2].res, calls[2].err)
	}
	if st.Stage != StageWithdrawn || len(st.Rounds) != 2 {
		t.Errorf("result %+v: want withdrawn in round 2", st)
	}
	if n := h.count(`SELECT count(*) FROM change_request_rounds WHERE request_id = $1 AND round = 2
		AND body = 'v2 with the MFA statement' AND note = 'text attached'`, id); n != 1 {
		t.Error("the resubmitted text was not recorded as round 2")
	}
	if n := h.count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'withdrawn'`, id); n != 1 {
		t.Error("not recorded as withdrawn")
	}
}

// An update whose handler runs in the same activation as the returned
// task's outcome, after the workflow took the outcome, must not answer the
// next return: it fails, and the next return waits for the requester. The
// handler is run from a coroutine woken by the task's completion, as the SDK
// runs an update handler that arrives with the child's result.
func TestPolicyChangeUpdateRacingTheTaskIsRefused(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "race")
	var raced bool
	var updRes string
	var updErr error
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in PolicyChangeInput) (PolicyChangeStatus, error) {
		w, err := newPolicyChange(ctx, in)
		if err != nil {
			return PolicyChangeStatus{}, err
		}
		workflow.Go(ctx, func(ctx workflow.Context) {
			if workflow.Await(ctx, func() bool { return raced }) == nil {
				updRes, updErr = w.respond(ctx, changeResponse{outcome: TaskOutcome{
					TaskID: UpdateWithdraw, Action: ActionReject, By: "eve", At: workflow.Now(ctx), Note: "withdrawing"}})
			}
		})
		return w.run(ctx)
	}, workflow.RegisterOptions{Name: "racing-change-request"})
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionReject, note: "attach the text"})
	h.on(HumanTaskID(id, "returned/1"), answer{after: 2 * day, by: "eve", action: ActionDone, note: "see the wiki",
		also: func() { raced = true }})
	h.on(HumanTaskID(id, "review/2"), answer{after: day, by: "sam", action: ActionReject, note: "still not right"})
	h.on(HumanTaskID(id, "returned/2"), answer{after: 4 * day, by: "eve", action: ActionDone, note: "now with the text"})
	h.on(HumanTaskID(id, "review/3"), answer{after: day, by: "sam", action: ActionApprove})
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.env.ExecuteWorkflow("racing-change-request", PolicyChangeInput{PolicyID: "access", Kind: "minor", Summary: "MFA wording", RequesterID: "eve"})
	var st PolicyChangeStatus
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v (tasks %v)", err, h.taskIDs())
	}
	if err := h.env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}

	if updErr == nil || !strings.Contains(updErr.Error(), "already answered") {
		t.Errorf("the racing withdraw answered %q, %v; want it refused as already answered", updRes, updErr)
	}
	if st.Stage != StagePublished || len(st.Rounds) != 3 {
		t.Fatalf("result %+v: want published after 3 rounds, the racing withdraw ignored", st)
	}
	if st.Rounds[2].Note != "now with the text" {
		t.Errorf("round 3 %+v: want the requester's own answer to the second return", st.Rounds[2])
	}
}

// Two requests on one policy: the one published second was reviewed against
// a version no longer in effect, so it is sent back to its requester naming
// the current version instead of silently undoing the first.
func TestPolicyChangeSupersededByAnotherRequest(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "second")
	other := PolicyChangeRequestID("access", "first")
	pol := &activities.Policies{DB: h.db.App}
	h.env.RegisterDelayedCallback(func() {
		ctx := context.Background()
		if _, err := pol.OpenChangeRequest(ctx, activities.OpenChangeRequestInput{ID: other, PolicyID: "access", Kind: "minor",
			Summary: "other fix", Body: "text with the other fix", RequesterID: "pat", At: h.env.Now()}); err != nil {
			t.Error(err)
		}
		if _, err := pol.PublishPolicyVersion(ctx, activities.PublishInput{RequestID: other, PolicyID: "access", Kind: "minor",
			Summary: "other fix", Body: "text with the other fix", PublishedBy: "sam", ChangeAt: h.env.Now()}); err != nil {
			t.Error(err)
		}
	}, 12*time.Hour)
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "returned/1"), answer{after: day, by: "eve", action: ActionDone, note: "merged with the other fix"})
	h.on(HumanTaskID(id, "review/2"), answer{after: day, by: "sam", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "minor", Summary: "MFA wording", Text: "mine", RequesterID: "eve"})

	returned := h.task(HumanTaskID(id, "returned/1"))
	if returned.AssigneeID != "eve" || !strings.Contains(returned.Body, "moved on to version 2023.1 rev.1") {
		t.Errorf("not sent back to the requester naming the current version: %+v", returned)
	}
	if st.Stage != StagePublished || st.Version != "2023.1 rev.2" || len(st.Rounds) != 2 {
		t.Errorf("result %+v: want 2023.1 rev.2 published after a second review", st)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.superseded'
		AND detail->>'current_version' = '2023.1 rev.1' AND detail->>'reviewed_against' = '2023.1'`, id); n != 1 {
		t.Errorf("%d superseded audit entries", n)
	}
	if n := h.count(`SELECT count(*) FROM change_requests WHERE id = $1 AND base_version = '2023.1 rev.1'`, id); n != 1 {
		t.Error("the resubmission was not based on the version then in effect")
	}
	if n := h.count(`SELECT count(*) FROM policy_versions WHERE policy_id = 'access' AND change_request_id = $1`, other); n != 1 {
		t.Error("the first request's version is gone")
	}
}

// A Slack outage does not hold up the email announcement: both go out at
// once, and the post, retried for a while, is recorded as failed.
func TestPolicyChangeSlackOutageDoesNotHoldUpEmail(t *testing.T) {
	start := time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there any more: every post is refused
	h.slack = activities.NewSlack("xoxb-test", down.URL)
	h.newEnv(start)
	h.env.SetTestTimeout(20 * time.Second)
	id := PolicyChangeRequestID("access", "slack-down")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "minor", Summary: "fix a typo", Text: "v1 fixed", RequesterID: "eve"})

	if st.Stage != StagePublished || st.Announced != 6 || len(h.sink.Messages()) != 6 {
		t.Errorf("result %+v, %d mails: want published and emailed to the 6 active people", st, len(h.sink.Messages()))
	}
	posts, mails := h.calls("AnnounceSlack"), h.calls("AnnounceEmailBatch")
	if len(posts) < 2 || len(mails) == 0 || mails[0].After(posts[0]) {
		t.Errorf("slack attempts at %v, email batches at %v: want the email sent with the first post attempt", posts, mails)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.announced' AND detail->>'slack' = 'failed'`, id); n != 1 {
		t.Error("the failed channel post is not recorded")
	}
}
