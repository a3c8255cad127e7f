package policychange

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/activities/notify"
	act "github.com/complyflow/complyflow/activities/policychange"
	changeact "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func runChange(h *policytest.Harness, id string, in Input) Status {
	h.T.Helper()
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(WorkflowName, in)
	if !h.Env.IsWorkflowCompleted() {
		h.T.Fatal("workflow did not complete")
	}
	if err := h.Env.GetWorkflowError(); err != nil {
		h.T.Fatalf("workflow failed: %v", err)
	}
	var st Status
	if err := h.Env.GetWorkflowResult(&st); err != nil {
		h.T.Fatal(err)
	}
	return st
}

func TestPolicyChangeApprovePath(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "typo")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove, Note: "fine"})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "minor", Summary: "fix a typo in §2", Text: "v1 fixed", RequesterID: "eve"})

	if st.Stage != changeact.StatusPublished || st.Version != "2023.1 rev.1" || st.ArchivedVersion != "" {
		t.Errorf("result %+v, want 2023.1 rev.1 published with nothing archived", st)
	}
	if got := strings.Join(h.TaskIDs(), ","); got != humantask.ID(id, "review/1") {
		t.Errorf("tasks %s: a minor change needs the officer's review only", got)
	}
	review := h.Task(humantask.ID(id, "review/1"))
	if review.AssigneeID != "sam" || !slices.Equal(review.ControlIDs, []string{"personnel-accountability"}) || review.ParentRef != id {
		t.Errorf("review task %+v", review)
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'published' AND published_version = '2023.1 rev.1'`, id); n != 1 {
		t.Error("change request not recorded as published")
	}
	if n := h.Count(`SELECT count(*) FROM policy_versions WHERE policy_id = 'access' AND archived_at IS NOT NULL`); n != 0 {
		t.Errorf("a revision archived %d versions", n)
	}
	if n := h.Count(`SELECT count(*) FROM policy_acknowledgements_owed`); n != 0 {
		t.Error("a revision is owed a re-acknowledgement")
	}
	if len(h.Campaigns) != 0 {
		t.Errorf("a minor revision started campaigns %v: its signatures stand", h.Campaigns)
	}
	// Everyone active was told, and it is recorded who.
	if n := h.Count(`SELECT count(*) FROM notifications WHERE task_id = $1 AND purpose = 'policy-announcement' AND status = 'sent'`, id); n != 6 || st.Announced != 6 || len(h.Sink.Messages()) != 6 {
		t.Errorf("announced to %d (result %d, mails %d), want the 6 active people", n, st.Announced, len(h.Sink.Messages()))
	}
	for _, action := range []string{"policy.change.requested", "policy.change.review", "policy.change.announced"} {
		if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = $2 AND control_id = 'personnel-accountability'`, id, action); n != 1 {
			t.Errorf("%d %s audit entries", n, action)
		}
	}
}

func TestPolicyChangeRejectResubmitApprove(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "wording")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "cite the control"})
	h.On(humantask.ID(id, "returned/1"), policytest.Answer{After: 2 * policytest.Day, By: "eve", Action: humantask.ActionDone, Note: "https://git.example.com/policies/pull/7"})
	h.On(humantask.ID(id, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "minor", Summary: "clarify wording", RequesterID: "eve"})

	if st.Stage != changeact.StatusPublished || len(st.Rounds) != 2 {
		t.Fatalf("result %+v, want published after 2 rounds", st)
	}
	returned := h.Task(humantask.ID(id, "returned/1"))
	if returned.AssigneeID != "eve" || !strings.Contains(returned.Body, "cite the control") {
		t.Errorf("the rejection did not go back to the requester with the officer's Note: %+v", returned)
	}
	if d := st.Rounds[0].Decisions; len(d) != 2 || d[0].Action != humantask.ActionReject || d[1].Step != "response" {
		t.Errorf("round 1 decisions %+v", d)
	}
	if n := h.Count(`SELECT count(*) FROM change_request_rounds WHERE request_id = $1`, id); n != 2 {
		t.Errorf("%d rounds recorded, want 2", n)
	}
	if n := h.Count(`SELECT count(*) FROM change_request_rounds WHERE request_id = $1 AND round = 2
		AND reference = 'https://git.example.com/policies/pull/7' AND submitted_by = 'eve'`, id); n != 1 {
		t.Error("the resubmission's reference was not recorded")
	}
	if n := h.Count(`SELECT count(*) FROM change_request_decisions WHERE request_id = $1`, id); n != 3 {
		t.Errorf("%d decisions recorded, want 3 (reject, resubmit, approve)", n)
	}
}

func TestPolicyChangeWithdrawal(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "drop")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "out of scope"})
	h.On(humantask.ID(id, "returned/1"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionReject, Note: "agreed, withdrawing"})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "material", Summary: "remove §4", RequesterID: "eve"})

	if st.Stage != changeact.StatusWithdrawn || st.Version != "" {
		t.Errorf("result %+v, want withdrawn with nothing published", st)
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'withdrawn' AND closed_at IS NOT NULL`, id); n != 1 {
		t.Error("change request not recorded as withdrawn")
	}
	if n := h.Count(`SELECT count(*) FROM policy_versions WHERE policy_id = 'access'`); n != 1 {
		t.Errorf("%d versions after a withdrawal, want the original 1", n)
	}
	if len(h.Sink.Messages()) != 0 {
		t.Errorf("a withdrawn change was announced")
	}
}

func TestPolicyChangeMajorNeedsSecondApproval(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "mfa")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "second-approval/1"), policytest.Answer{After: policytest.Day, By: "cleo", Action: humantask.ActionReject, Note: "cost it first"})
	h.On(humantask.ID(id, "returned/1"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionDone, Note: "costed in the PR description"})
	h.On(humantask.ID(id, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "second-approval/2"), policytest.Answer{After: 3 * policytest.Day, By: "dee", Action: humantask.ActionApprove, Note: "as designee"})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "material", Summary: "require MFA", Text: "v2", RequesterID: "eve"})

	if st.Stage != changeact.StatusPublished || st.Version != "2023.2" {
		t.Fatalf("result %+v", st)
	}
	ceo := h.Task(humantask.ID(id, "second-approval/1"))
	if want := []workflows.EscalationStep{{To: "role:ceo_designee", Except: []string{"eve"}}}; ceo.AssigneeID != "cleo" || !reflect.DeepEqual(ceo.Escalation, want) {
		t.Errorf("second approval task %+v: want the CEO, escalating to the designees but the requester", ceo)
	}
	// The CEO's rejection sent it back; nothing was published in round 1.
	if got := strings.Join(h.TaskIDs(), ","); !strings.Contains(got, "returned/1") {
		t.Errorf("tasks %s", got)
	}
	if n := h.Count(`SELECT count(*) FROM change_request_decisions WHERE request_id = $1 AND step = 'second-approval'`, id); n != 2 {
		t.Errorf("%d second-approval decisions, want 2", n)
	}
	var by string
	h.DB.Owner.Get(&by, `SELECT published_by FROM policy_versions WHERE change_request_id = $1`, id)
	if by != "dee" {
		t.Errorf("published on %q's approval, want the designee's", by)
	}
}

func TestPolicyChangeProductionChangeGate(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "logging")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "production-change/1"), policytest.Answer{After: 2 * policytest.Day, By: "eve", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "production-change/2"), policytest.Answer{After: 5 * policytest.Day, By: "eve", Action: humantask.ActionDone, Note: "CHG-1042"})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "minor", Summary: "log retention 1y", Text: "v2 keeping logs a year", RequesterID: "eve", NeedsProductionChange: true})

	if st.Stage != changeact.StatusPublished || st.ProductionChangeRef != "CHG-1042" {
		t.Fatalf("result %+v", st)
	}
	if h.Task(humantask.ID(id, "production-change/1")).AssigneeID != "eve" {
		t.Error("the change-management reference was not asked of the requester")
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id = $1 AND production_change_ref = 'CHG-1042'`, id); n != 1 {
		t.Error("reference not recorded")
	}
	// Published only after the reference came.
	if n := h.Count(`SELECT count(*) FROM audit_log a, audit_log b WHERE a.action = 'policy.change.production-change' AND a.subject = $1
		AND b.action = 'policy.version.published' AND b.detail->>'change_request' = $1 AND a.id < b.id`, id); n != 1 {
		t.Error("the version was not published after the change-management reference")
	}
}

func TestPolicyChangeArchivesBeforePublishing(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "v2")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "second-approval/1"), policytest.Answer{After: policytest.Day, By: "cleo", Action: humantask.ActionApprove})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "material", Summary: "new statement (e)", Text: "v2", RequesterID: "eve"})

	if st.Version != "2023.2" || st.ArchivedVersion != "2023.1" {
		t.Fatalf("result %+v, want 2023.2 after archiving 2023.1", st)
	}
	if n := h.Count(`SELECT count(*) FROM policy_versions old, policy_versions new
		WHERE old.policy_id = 'access' AND old.version = '2023.1' AND new.policy_id = 'access' AND new.version = '2023.2'
		AND old.archived_at < new.published_at AND old.superseded_at = new.published_at AND new.body = 'v2'`); n != 1 {
		t.Error("2023.1 was not archived before 2023.2 was published")
	}
	if n := h.Count(`SELECT count(*) FROM policy_acknowledgements_owed WHERE policy_id = 'access' AND version = '2023.2' AND change_request_id = $1
		AND campaign_ref = 'campaign/reacknowledgement/access/2023.2'`, id); n != 1 {
		t.Error("the material change is not recorded as owing a re-acknowledgement by its campaign")
	}
	// The campaign for that policy only, to everyone, on the default cadence
	// (the test program has no acknowledgement obligation).
	reack, ok := h.Campaigns["campaign/reacknowledgement/access/2023.2"]
	if !ok || len(h.Campaigns) != 1 {
		t.Fatalf("campaigns started %v, want the re-acknowledgement of access 2023.2", h.Campaigns)
	}
	if !slices.Equal(reack.Scope, []string{"access"}) || reack.Kind != "acknowledgement" || len(reack.People) != 0 ||
		reack.DuePeriod != 14*policytest.Day || !strings.Contains(reack.Reason, id) {
		t.Errorf("re-acknowledgement campaign input %+v", reack)
	}
	// And the database refuses the other order outright.
	_, err := h.DB.App.Exec(`INSERT INTO policy_versions (policy_id, year, seq, kind, body, content_sha256, published_by, published_at)
		VALUES ('access', 2023, 3, 'material', 'text', 'x', 'sam', now())`)
	if err == nil || !strings.Contains(err.Error(), "must be archived before") {
		t.Errorf("publishing 2023.3 without archiving 2023.2: %v", err)
	}
}

func TestPolicyChangeVersionAcrossYearBoundary(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 12, 28, 9, 0, 0, 0, time.UTC))
	id := ID("access", "new-year")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: 2 * policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "second-approval/1"), policytest.Answer{After: 5 * policytest.Day, By: "cleo", Action: humantask.ActionApprove})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "material", Summary: "annual refresh", Text: "v2 refreshed", RequesterID: "eve"})
	if st.Version != "2024.1" || st.ArchivedVersion != "2023.1" {
		t.Errorf("approved in January 2024: published %q archiving %q, want 2024.1 archiving 2023.1", st.Version, st.ArchivedVersion)
	}
}

func TestPolicyChangeRefusesUnknownPolicy(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.Env.ExecuteWorkflow(WorkflowName, Input{PolicyID: "nope", Kind: "material", Summary: "x", RequesterID: "eve"})
	err := h.Env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), `policy "nope" is not in the program`) {
		t.Errorf("unknown policy: %v", err)
	}
	if len(h.Tasks) != 0 {
		t.Errorf("tasks started for a refused request: %v", h.TaskIDs())
	}
}

func TestPolicyChangeProductDevelopmentNeedsHeadOfEngineering(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.DB.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('hank', 'hank@example.com', 'Hank Head of Engineering');
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'hank');
		INSERT INTO policies (id, title, owner_id, source, created_at, product_development) VALUES ('sdlc', 'Secure Development Policy', 'hank', 'policies/sdlc.md', '2023-01-10', true);`)
	id := ID("sdlc", "review-rule")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "engineering-approval/1"), policytest.Answer{After: policytest.Day, By: "hank", Action: humantask.ActionReject, Note: "two reviewers, not one"})
	h.On(humantask.ID(id, "returned/1"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionDone, Note: "now two reviewers"})
	h.On(humantask.ID(id, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "engineering-approval/2"), policytest.Answer{After: policytest.Day, By: "hank", Action: humantask.ActionApprove})
	st := runChange(h, id, Input{PolicyID: "sdlc", Kind: "minor", Summary: "code review by two", Text: "v2 with two code reviewers", RequesterID: "eve"})

	if st.Stage != changeact.StatusPublished || st.Version != "2023.1 rev.1" || len(st.Rounds) != 2 {
		t.Fatalf("result %+v", st)
	}
	if h.Task(humantask.ID(id, "engineering-approval/1")).AssigneeID != "hank" {
		t.Error("the Head of Engineering was not asked")
	}
	if n := h.Count(`SELECT count(*) FROM change_request_decisions WHERE request_id = $1 AND step = 'engineering-approval'`, id); n != 2 {
		t.Errorf("%d engineering approvals recorded, want 2", n)
	}
}

func TestPolicyChangeResubmitAndWithdrawByUpdate(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "by-update")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "attach the text"})
	h.On(humantask.ID(id, "returned/1"), policytest.Answer{After: 30 * policytest.Day, By: "eve", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "still not right"})
	h.On(humantask.ID(id, "returned/2"), policytest.Answer{After: 30 * policytest.Day, By: "eve", Action: humantask.ActionDone})
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
	at := []time.Duration{2 * policytest.Day, 2*policytest.Day + time.Hour, 5 * policytest.Day}
	for i, c := range calls {
		h.Env.RegisterDelayedCallback(func() {
			h.Env.UpdateWorkflow(c.name, fmt.Sprint(i), &testsuite.TestUpdateCallback{
				OnReject:   func(err error) { c.err = err },
				OnAccept:   func() {},
				OnComplete: func(res any, err error) { c.err = err; c.res, _ = res.(string) },
			}, c.arg)
		}, at[i])
	}
	st := runChange(h, id, Input{PolicyID: "access", Kind: "minor", Summary: "MFA wording", RequesterID: "eve"})

	if calls[0].err == nil || !strings.Contains(calls[0].err.Error(), "only the requester") {
		t.Errorf("a resubmission by someone else: %v", calls[0].err)
	}
	if calls[1].err != nil || calls[1].res != changeact.StatusInReview || calls[2].err != nil || calls[2].res != changeact.StatusWithdrawn {
		t.Errorf("resubmit: %q %v; withdraw: %q %v", calls[1].res, calls[1].err, calls[2].res, calls[2].err)
	}
	if st.Stage != changeact.StatusWithdrawn || len(st.Rounds) != 2 {
		t.Errorf("result %+v: want withdrawn in round 2", st)
	}
	if n := h.Count(`SELECT count(*) FROM change_request_rounds WHERE request_id = $1 AND round = 2
		AND body = 'v2 with the MFA statement' AND note = 'text attached'`, id); n != 1 {
		t.Error("the resubmitted text was not recorded as round 2")
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'withdrawn'`, id); n != 1 {
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
	id := ID("access", "race")
	var raced bool
	var updRes string
	var updErr error
	h.Env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in Input) (Status, error) {
		w, err := newPolicyChange(ctx, in)
		if err != nil {
			return Status{}, err
		}
		workflow.Go(ctx, func(ctx workflow.Context) {
			if workflow.Await(ctx, func() bool { return raced }) == nil {
				updRes, updErr = w.respond(ctx, changeResponse{outcome: humantask.Outcome{
					Action: humantask.ActionReject, By: "eve", At: workflow.Now(ctx), Note: "withdrawing"}})
			}
		})
		return w.run(ctx)
	}, workflow.RegisterOptions{Name: "racing-change-request"})
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "attach the text"})
	h.On(humantask.ID(id, "returned/1"), policytest.Answer{After: 2 * policytest.Day, By: "eve", Action: humantask.ActionDone, Note: "see the wiki",
		Also: func() { raced = true }})
	h.On(humantask.ID(id, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "still not right"})
	h.On(humantask.ID(id, "returned/2"), policytest.Answer{After: 4 * policytest.Day, By: "eve", Action: humantask.ActionDone, Note: "now with the text"})
	h.On(humantask.ID(id, "review/3"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow("racing-change-request", Input{PolicyID: "access", Kind: "minor", Summary: "MFA wording", Text: "v2 MFA wording", RequesterID: "eve"})
	var st Status
	if err := h.Env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v (tasks %v)", err, h.TaskIDs())
	}
	if err := h.Env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}

	if updErr == nil || !strings.Contains(updErr.Error(), "already answered") {
		t.Errorf("the racing withdraw answered %q, %v; want it refused as already answered", updRes, updErr)
	}
	if st.Stage != changeact.StatusPublished || len(st.Rounds) != 3 {
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
	id := ID("access", "second")
	other := ID("access", "first")
	pol := &act.Activities{DB: h.DB.App}
	h.Env.RegisterDelayedCallback(func() {
		ctx := context.Background()
		if _, err := pol.OpenChangeRequest(ctx, act.OpenChangeRequestInput{ID: other, PolicyID: "access", Kind: "minor",
			Summary: "other fix", Body: "text with the other fix", RequesterID: "pat", At: h.Env.Now()}); err != nil {
			t.Error(err)
		}
		if _, err := pol.PublishPolicyVersion(ctx, act.PublishInput{RequestID: other, PolicyID: "access", Kind: "minor",
			Summary: "other fix", Body: "text with the other fix", PublishedBy: "sam", ChangeAt: h.Env.Now()}); err != nil {
			t.Error(err)
		}
	}, 12*time.Hour)
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "returned/1"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionDone, Note: "merged with the other fix"})
	h.On(humantask.ID(id, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "minor", Summary: "MFA wording", Text: "mine", RequesterID: "eve"})

	returned := h.Task(humantask.ID(id, "returned/1"))
	if returned.AssigneeID != "eve" || !strings.Contains(returned.Body, "moved on to version 2023.1 rev.1") {
		t.Errorf("not sent back to the requester naming the current version: %+v", returned)
	}
	if st.Stage != changeact.StatusPublished || st.Version != "2023.1 rev.2" || len(st.Rounds) != 2 {
		t.Errorf("result %+v: want 2023.1 rev.2 published after a second review", st)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.superseded'
		AND detail->>'current_version' = '2023.1 rev.1' AND detail->>'reviewed_against' = '2023.1'`, id); n != 1 {
		t.Errorf("%d superseded audit entries", n)
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id = $1 AND base_version = '2023.1 rev.1'`, id); n != 1 {
		t.Error("the resubmission was not based on the version then in effect")
	}
	if n := h.Count(`SELECT count(*) FROM policy_versions WHERE policy_id = 'access' AND change_request_id = $1`, other); n != 1 {
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
	h.Slack = notify.NewSlack("xoxb-test", down.URL)
	h.NewEnv(start)
	h.Env.SetTestTimeout(20 * time.Second)
	id := ID("access", "slack-down")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "minor", Summary: "fix a typo", Text: "v1 fixed", RequesterID: "eve"})

	if st.Stage != changeact.StatusPublished || st.Announced != 6 || len(h.Sink.Messages()) != 6 {
		t.Errorf("result %+v, %d mails: want published and emailed to the 6 active people", st, len(h.Sink.Messages()))
	}
	posts, mails := h.Calls("AnnounceSlack"), h.Calls("AnnounceEmailBatch")
	if len(posts) < 2 || len(mails) == 0 || mails[0].After(posts[0]) {
		t.Errorf("slack attempts at %v, email batches at %v: want the email sent with the first post attempt", posts, mails)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.announced' AND detail->>'slack' = 'failed'`, id); n != 1 {
		t.Error("the failed channel post is not recorded")
	}
}

// A change naming only its summary (as one asked for in the annual review
// does) is approved but not published: a version holds its document. It is
// sent back to its requester, the reason in the returned task, and once
// resubmitted with the text and approved again it is published with it.
func TestPolicyChangeWithoutDocumentIsReturned(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "summary-only")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "returned/1"), policytest.Answer{After: 30 * policytest.Day, By: "eve", Action: humantask.ActionReject, Note: "too late"})
	h.On(humantask.ID(id, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	var res string
	var resErr error
	h.Env.RegisterDelayedCallback(func() {
		h.Env.UpdateWorkflow(UpdateResubmit, "resubmit", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { resErr = err },
			OnAccept:   func() {},
			OnComplete: func(r any, err error) { resErr = err; res, _ = r.(string) },
		}, ResubmitRequest{PersonID: "eve", Text: "v2 requiring MFA", Note: "text attached"})
	}, 2*policytest.Day)
	st := runChange(h, id, Input{PolicyID: "access", Kind: "minor", Summary: "require MFA", RequesterID: "eve"})

	returned := h.Task(humantask.ID(id, "returned/1"))
	if returned.AssigneeID != "eve" || !strings.Contains(returned.Body, "neither the policy's new text nor a reference") ||
		!strings.Contains(returned.Body, "starter change-request resubmit "+id+" --text FILE --as eve") {
		t.Errorf("not sent back to the requester saying the text is missing: %+v", returned)
	}
	if resErr != nil || res != changeact.StatusInReview {
		t.Errorf("resubmit with the text: %q %v", res, resErr)
	}
	if st.Stage != changeact.StatusPublished || st.Version != "2023.1 rev.1" || len(st.Rounds) != 2 {
		t.Errorf("result %+v: want 2023.1 rev.1 published after the resubmission", st)
	}
	if d := st.Rounds[0].Decisions; len(d) != 3 || d[1].Step != "no-document" || d[2].Step != "response" {
		t.Errorf("round 1 decisions %+v: want the review, the refused publish and the resubmission", d)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.no-document'`, id); n != 1 {
		t.Errorf("%d no-document audit entries, want 1", n)
	}
	if n := h.Count(`SELECT count(*) FROM policy_versions WHERE change_request_id = $1 AND body = 'v2 requiring MFA'`, id); n != 1 {
		t.Error("the version was not published with the resubmitted text")
	}
}
