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

// eveHeadsEngineering makes eve, a committee member, the only head of
// engineering and the owner of a product development policy: a change she
// asks for to it has nobody but her to give the engineering approval.
func eveHeadsEngineering(h *policytest.Harness) {
	h.DB.Owner.MustExec(`
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'eve');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES
			('change-management', 'Change Management Policy', 'eve', 'policies/change-management.md', '2023-01-10');
		UPDATE policies SET product_development = true WHERE id = 'change-management';`)
}

func runReview(h *policytest.Harness, id string) Status {
	h.T.Helper()
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(WorkflowName, workflows.ScheduledRun{ObligationID: "annual-policy-review", Process: Process,
		DuePeriod: 14 * policytest.Day, RemindEvery: 3 * policytest.Day, ControlIDs: []string{"info-sec-program-review"}})
	if err := h.Env.GetWorkflowError(); err != nil {
		h.T.Fatalf("%v (tasks %v)", err, h.TaskIDs())
	}
	var st Status
	if err := h.Env.GetWorkflowResult(&st); err != nil {
		h.T.Fatal(err)
	}
	return st
}

// A change asked for by the only person who could approve it is not started
// as a change request that would be refused: the review records it as
// refused with the reason (item and audit entry), names no change request
// for it, emails the member, and the officer's sign-off task lists it, as it
// lists a change request that failed.
func TestAnnualReviewRefusedChangeShownAtSignOff(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	eveHeadsEngineering(h)
	id := "annual-policy-review/2025"
	refused := policychange.ID("change-management", "annual-policy-review-2025-r1-eve")
	opened := policychange.ID("access", "annual-policy-review-2025-r1-eve")
	h.On(humantask.ID(id, "open"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "review/1/pat"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "review/1/eve"), policytest.Answer{After: 2 * policytest.Day, By: "eve", Action: humantask.ActionReject,
		Note: "change-management [minor]: add the rollback step\naccess [minor]: fix the typo in section 2"})
	// The access request's review is left unanswered by the script, so that
	// change request fails for a reason of its own.
	h.On(humantask.ID(id, "sign-off/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})

	st := runReview(h, id)
	if st.Stage != "signed-off" || st.Round != 1 {
		t.Fatalf("result %+v: want signed off in round 1", st)
	}
	if len(st.ChangeRequests) != 1 || st.ChangeRequests[0] != opened || st.Changed[opened] != "" {
		t.Errorf("change requests %v: want only %s started", st.ChangeRequests, opened)
	}
	for _, task := range h.TaskIDs() {
		if strings.HasPrefix(task, refused) {
			t.Errorf("task %s started for the refused change", task)
		}
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE policy_id = 'change-management'`); n != 0 {
		t.Errorf("%d change requests recorded for the refused change", n)
	}
	if got := len(h.Calls("CheckReviewChange")); got != 2 {
		t.Errorf("CheckReviewChange ran %d times, want once per change asked for", got)
	}
	reason := "only the requester, eve, holds the role head_of_engineering"
	var items []struct {
		Outcome string `db:"outcome"`
		Note    string `db:"note"`
		CR      string `db:"change_request_id"`
	}
	if err := h.DB.Owner.Select(&items, `SELECT outcome, note, change_request_id FROM policy_review_items
		WHERE review_id = $1 AND reviewer_id = 'eve' AND policy_id = 'change-management'`, id); err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Outcome != "change-refused" || items[0].CR != "" ||
		!strings.Contains(items[0].Note, "add the rollback step") || !strings.Contains(items[0].Note, "could not be opened: "+reason) {
		t.Errorf("eve's item on change-management: %+v, want refused with no change request, the change and the reason", items)
	}
	if n := h.Count(`SELECT count(*) FROM policy_review_items WHERE review_id = $1 AND reviewer_id = 'eve' AND policy_id = 'access'
		AND outcome = 'change-requested' AND change_request_id = $2`, id, opened); n != 1 {
		t.Error("eve's change to access is not recorded as its change request")
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.review.change-refused'
		AND detail->>'requester' = 'eve' AND detail->>'policy' = 'change-management' AND detail->>'note' LIKE '%' || $2 || '%'
		AND control_id = 'info-sec-program-review'`, id, reason); n != 1 {
		t.Errorf("%d audit entries for the refusal, want 1 naming member, policy and reason", n)
	}
	if n := h.Count(`SELECT count(*) FROM notifications WHERE recipient_id = 'eve' AND purpose = 'review-change-refused' AND status = 'sent'`); n != 1 {
		t.Errorf("%d notices of the refusal sent to eve, want 1", n)
	}
	var told []string
	for _, m := range h.Sink.Messages() {
		if slices.Contains(m.To, "eve@example.com") && strings.Contains(string(m.Raw), "change-management") {
			told = append(told, string(m.Raw))
		}
	}
	if len(told) != 1 || !strings.Contains(told[0], "add the rollback step") || !strings.Contains(told[0], "head_of_engineering") {
		t.Errorf("mails to eve about the refused change: %q, want one naming the change and the reason", told)
	}
	body := h.Task(humantask.ID(id, "sign-off/1")).Body
	if !strings.Contains(body, "eve asked to change `change-management` in round 1; the change request could not be opened: "+reason) {
		t.Errorf("sign-off task does not name the refused change:\n%s", body)
	}
	if !strings.Contains(body, "- "+opened+": failed, see below") ||
		!strings.Contains(body, "eve asked to change `access` in round 1; change request "+opened+" failed: no scripted answer for "+
			humantask.ID(opened, "review/1")) {
		t.Errorf("sign-off task does not name the change request that failed:\n%s", body)
	}
	if n := h.Count(`SELECT count(*) FROM policy_reviews WHERE id = $1 AND status = 'signed-off'`, id); n != 1 {
		t.Error("review not signed off")
	}
}
