package policyreview

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
	"github.com/complyflow/complyflow/workflows/policychange"

	"go.temporal.io/sdk/client"
)

func TestAnnualReviewTwoMembersOneAsksForChange(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	id := "annual-policy-review/2025"
	cr := policychange.ID("privacy", "annual-policy-review-2025-r1-pat")
	h.On(humantask.ID(id, "open"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "review/1/eve"), policytest.Answer{After: 3 * policytest.Day, By: "eve", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "review/1/pat"), policytest.Answer{After: 5 * policytest.Day, By: "pat", Action: humantask.ActionReject,
		Note: "privacy: name the Data Protection Officer\nand thanks for the reminder"})
	h.On(humantask.ID(cr, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(cr, "second-approval/1"), policytest.Answer{After: 2 * policytest.Day, By: "cleo", Action: humantask.ActionApprove})
	// Asked for with a summary only, the change is returned to pat at
	// publish for its document, and resubmitted with where it lives.
	h.On(humantask.ID(cr, "returned/1"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionDone,
		Note: "https://docs.example.com/privacy-policy-dpo"})
	h.On(humantask.ID(cr, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(cr, "second-approval/2"), policytest.Answer{After: policytest.Day, By: "cleo", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "sign-off/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "look at privacy again once changed"})
	h.On(humantask.ID(id, "review/2/eve"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "review/2/pat"), policytest.Answer{After: 2 * policytest.Day, By: "pat", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "sign-off/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove, Note: "signed off"})

	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(WorkflowName, workflows.ScheduledRun{ObligationID: "annual-policy-review", Process: Process,
		DuePeriod: 14 * policytest.Day, RemindEvery: 3 * policytest.Day, ControlIDs: []string{"info-sec-program-review"}})
	if err := h.Env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := h.Env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if st.Stage != "signed-off" || st.Round != 2 || len(st.Reviewed) != 8 {
		t.Fatalf("result %+v: want signed off in round 2 with 2 members x 2 policies x 2 rounds reviewed", st)
	}
	if len(st.ChangeRequests) != 1 || st.ChangeRequests[0] != cr || st.Changed[cr] != "2025.1" {
		t.Errorf("changes %v %v: want %s publishing privacy 2025.1", st.ChangeRequests, st.Changed, cr)
	}
	member := h.Task(humantask.ID(id, "review/1/pat"))
	if member.AssigneeID != "pat" || !slices.Equal(member.ControlIDs, []string{"info-sec-program-review"}) || !strings.Contains(member.Body, "`privacy` Privacy Policy, version 2023.1") {
		t.Errorf("member task %+v", member)
	}
	if !h.Task(humantask.ID(id, "review/1/eve")).Due.Equal(h.Started[humantask.ID(id, "review/1/eve")].Add(14 * policytest.Day)) {
		t.Error("member task not due after the schedule's due period")
	}
	// The record: who reviewed what and when, and what changed.
	var items []struct {
		Round    int       `db:"round"`
		Reviewer string    `db:"reviewer_id"`
		Policy   string    `db:"policy_id"`
		Outcome  string    `db:"outcome"`
		CR       string    `db:"change_request_id"`
		At       time.Time `db:"reviewed_at"`
	}
	h.DB.Owner.Select(&items, `SELECT round, reviewer_id, policy_id, outcome, change_request_id, reviewed_at FROM policy_review_items
		WHERE review_id = $1 ORDER BY round, reviewer_id, policy_id`, id)
	if len(items) != 8 {
		t.Fatalf("%d review items, want 8", len(items))
	}
	if it := items[3]; it.Reviewer != "pat" || it.Policy != "privacy" || it.Outcome != "change-requested" || it.CR != cr ||
		!it.At.Equal(time.Date(2025, 1, 16, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("pat's round-1 review of privacy: %+v", it)
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id = $1 AND review_id = $2 AND requester_id = 'pat' AND status = 'published'`, cr, id); n != 1 {
		t.Error("the change asked for was not a change request of the review, published")
	}
	if n := h.Count(`SELECT count(*) FROM policy_versions WHERE change_request_id = $1 AND reference = 'https://docs.example.com/privacy-policy-dpo'`, cr); n != 1 {
		t.Error("the change was not published with the document pat resubmitted it with")
	}
	if n := h.Count(`SELECT count(*) FROM policy_reviews WHERE id = $1 AND status = 'signed-off' AND round = 2 AND sign_off_note = 'signed off'`, id); n != 1 {
		t.Error("review not recorded as signed off in round 2")
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND control_id = 'info-sec-program-review'`, id); n < 8 {
		t.Errorf("%d audit entries for the review under its control", n)
	}
}

// A rejection whose lines name no policy in scope (with two policies in
// scope) or a policy outside it is not recorded as no change: the member is
// asked again about exactly those lines, and the restated change becomes a
// change request.
func TestAnnualReviewUnclearChangeGoesBackToTheMember(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	id := "annual-policy-review/2025"
	cr := policychange.ID("access", "annual-policy-review-2025-r1-eve-c1")
	h.On(humantask.ID(id, "open"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "review/1/pat"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "review/1/eve"), policytest.Answer{After: 2 * policytest.Day, By: "eve", Action: humantask.ActionReject,
		Note: "please tighten the MFA wording\nfinance: add the new budget rules"})
	h.On(humantask.ID(id, "clarify/1/eve/1"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionReject, Note: "access [minor]: tighten the MFA wording"})
	h.On(humantask.ID(cr, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(cr, "returned/1"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionDone,
		Note: "https://docs.example.com/access-policy-mfa"})
	h.On(humantask.ID(cr, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "sign-off/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})

	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(WorkflowName, workflows.ScheduledRun{ObligationID: "annual-policy-review", Process: Process,
		DuePeriod: 14 * policytest.Day, RemindEvery: 3 * policytest.Day})
	if err := h.Env.GetWorkflowError(); err != nil {
		t.Fatalf("%v (tasks %v)", err, h.TaskIDs())
	}
	var st Status
	if err := h.Env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	clarify := h.Task(humantask.ID(id, "clarify/1/eve/1"))
	if clarify.AssigneeID != "eve" || !strings.Contains(clarify.Body, "please tighten the MFA wording") ||
		!strings.Contains(clarify.Body, "finance is not a policy in this review") {
		t.Errorf("clarification task %+v: want it to eve naming both lines not understood", clarify)
	}
	if len(st.ChangeRequests) != 1 || st.ChangeRequests[0] != cr || st.Changed[cr] != "2023.1 rev.1" {
		t.Errorf("changes %v %v: want %s publishing access 2023.1 rev.1", st.ChangeRequests, st.Changed, cr)
	}
	if n := h.Count(`SELECT count(*) FROM policy_review_items WHERE review_id = $1 AND reviewer_id = 'eve' AND policy_id = 'access'
		AND outcome = 'change-requested' AND change_request_id = $2`, id, cr); n != 1 {
		t.Error("eve's restated change is not recorded as change-requested")
	}
	if n := h.Count(`SELECT count(*) FROM policy_review_items WHERE review_id = $1`, id); n != 4 {
		t.Errorf("%d review items, want one per member and policy", n)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.review.reviewed'
		AND jsonb_array_length(CASE WHEN jsonb_typeof(detail->'unclear') = 'array' THEN detail->'unclear' ELSE '[]' END) = 2`, id); n == 0 {
		t.Error("the lines not understood are not in the audit trail")
	}
}

// A member whose clarification asks for another change to a policy their
// first answer already asked to change gets both change requests, and the
// review record lists both.
func TestAnnualReviewClarifiedSecondChangeToSamePolicy(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	id := "annual-policy-review/2025"
	first := policychange.ID("access", "annual-policy-review-2025-r1-eve")
	second := policychange.ID("access", "annual-policy-review-2025-r1-eve-c1")
	h.On(humantask.ID(id, "open"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "review/1/pat"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "review/1/eve"), policytest.Answer{After: 2 * policytest.Day, By: "eve", Action: humantask.ActionReject,
		Note: "access [minor]: fix the typo in section 2\nfinance: add the new budget rules"})
	h.On(humantask.ID(first, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "clarify/1/eve/1"), policytest.Answer{After: 2 * policytest.Day, By: "eve", Action: humantask.ActionReject, Note: "access [minor]: tighten the MFA wording"})
	h.On(humantask.ID(second, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	// Each change, asked for with a summary only, comes back to eve for its
	// document at publish; she resubmits each with where it lives.
	h.On(humantask.ID(first, "returned/1"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionDone,
		Note: "https://docs.example.com/access-policy-typo"})
	h.On(humantask.ID(first, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(second, "returned/1"), policytest.Answer{After: 3 * policytest.Day, By: "eve", Action: humantask.ActionDone,
		Note: "https://docs.example.com/access-policy-mfa"})
	h.On(humantask.ID(second, "review/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "sign-off/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})

	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(WorkflowName, workflows.ScheduledRun{ObligationID: "annual-policy-review", Process: Process,
		DuePeriod: 14 * policytest.Day, RemindEvery: 3 * policytest.Day})
	if err := h.Env.GetWorkflowError(); err != nil {
		t.Fatalf("%v (tasks %v)", err, h.TaskIDs())
	}
	var st Status
	if err := h.Env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.ChangeRequests) != 2 || st.ChangeRequests[0] != first || st.ChangeRequests[1] != second ||
		st.Changed[first] != "2023.1 rev.1" || st.Changed[second] != "2023.1 rev.2" {
		t.Errorf("changes %v %v: want %s and %s publishing access rev.1 and rev.2", st.ChangeRequests, st.Changed, first, second)
	}
	var items []struct {
		Clarify int       `db:"clarify"`
		Note    string    `db:"note"`
		CR      string    `db:"change_request_id"`
		At      time.Time `db:"reviewed_at"`
	}
	if err := h.DB.Owner.Select(&items, `SELECT clarify, note, change_request_id, reviewed_at FROM policy_review_items
		WHERE review_id = $1 AND reviewer_id = 'eve' AND policy_id = 'access' AND outcome = 'change-requested' ORDER BY clarify`, id); err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].CR != first || items[0].Note != "fix the typo in section 2" ||
		items[1].CR != second || items[1].Note != "tighten the MFA wording" || items[1].Clarify != 1 ||
		!items[1].At.Equal(time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("eve's changes to access in the record: %+v, want both change requests with when and what", items)
	}
	// pat: both policies; eve: access twice, privacy once (with the clarification).
	if n := h.Count(`SELECT count(*) FROM policy_review_items WHERE review_id = $1`, id); n != 5 {
		t.Errorf("%d review items, want 5", n)
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id IN ($1, $2) AND review_id = $3 AND status = 'published'`, first, second, id); n != 2 {
		t.Errorf("%d of the two change requests published from the review", n)
	}
}

// The officer rejecting the sign-off is recorded (who, when, why) in the
// database and the audit trail, and the note goes with the review into the
// next round: on its status and in the members' tasks.
func TestAnnualReviewSignOffRejectionRecorded(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	id := "annual-policy-review/2025"
	why := "the access policy's MFA section was not looked at"
	h.On(humantask.ID(id, "open"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "review/1/eve"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "review/1/pat"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "sign-off/1"), policytest.Answer{After: 2 * policytest.Day, By: "sam", Action: humantask.ActionReject, Note: why})
	h.On(humantask.ID(id, "review/2/eve"), policytest.Answer{After: policytest.Day, By: "eve", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "review/2/pat"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "sign-off/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})

	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(WorkflowName, workflows.ScheduledRun{ObligationID: "annual-policy-review", Process: Process,
		DuePeriod: 14 * policytest.Day, RemindEvery: 3 * policytest.Day, ControlIDs: []string{"info-sec-program-review"}})
	if err := h.Env.GetWorkflowError(); err != nil {
		t.Fatalf("%v (tasks %v)", err, h.TaskIDs())
	}
	rejectedAt := time.Date(2025, 1, 14, 9, 0, 0, 0, time.UTC)
	var rej []struct {
		Round int       `db:"round"`
		Task  string    `db:"task_id"`
		By    string    `db:"rejected_by"`
		Note  string    `db:"note"`
		At    time.Time `db:"rejected_at"`
	}
	if err := h.DB.Owner.Select(&rej, `SELECT round, task_id, rejected_by, note, rejected_at FROM policy_review_rejections WHERE review_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || rej[0].Round != 1 || rej[0].By != "sam" || rej[0].Note != why || !rej[0].At.Equal(rejectedAt) ||
		rej[0].Task != humantask.ID(id, "sign-off/1") {
		t.Errorf("rejections recorded: %+v, want sam's of round 1 at %s with the note", rej, rejectedAt)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.review.sign-off-rejected' AND actor = 'sam'
		AND detail->>'note' = $2 AND (detail->>'round')::int = 1 AND control_id = 'info-sec-program-review'`, id, why); n != 1 {
		t.Errorf("%d audit entries for the rejection, want 1", n)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.review.in-review' AND actor = 'sam'
		AND detail->>'note' = $2 AND (detail->>'round')::int = 2`, id, why); n != 1 {
		t.Error("round 2 in review does not carry who sent it back and why")
	}
	if body := h.Task(humantask.ID(id, "review/2/eve")).Body; !strings.Contains(body, "sam rejected the sign-off of round 1 and sent the review back: "+why) {
		t.Errorf("round 2 review task does not say why it is back:\n%s", body)
	}
	if strings.Contains(h.Task(humantask.ID(id, "review/1/eve")).Body, "rejected the sign-off") {
		t.Error("round 1 review task speaks of a rejection")
	}
	if n := h.Count(`SELECT count(*) FROM policy_reviews WHERE id = $1 AND status = 'signed-off' AND round = 2`, id); n != 1 {
		t.Error("review not signed off in round 2")
	}
}
