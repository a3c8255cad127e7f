package workflows

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// The Security Officer's own request is reviewed by the Privacy Officer, and
// no task of it, nor any escalation, reaches the Security Officer.
func TestPolicyChangeOfficersOwnRequestGoesToTheOtherOfficer(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "officers-own")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "pat", action: ActionApprove})
	h.on(HumanTaskID(id, "second-approval/1"), answer{after: day, by: "cleo", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "require MFA", RequesterID: "sam"})

	if st.Stage != StagePublished {
		t.Fatalf("result %+v", st)
	}
	if review := h.task(HumanTaskID(id, "review/1")); review.AssigneeID != "pat" || len(review.Escalation) != 0 {
		t.Errorf("review task to %s escalating to %v: want the Privacy Officer, with nobody else to escalate to", review.AssigneeID, review.Escalation)
	}
	for _, task := range h.tasks {
		if task.AssigneeID == "sam" {
			t.Errorf("task %s went to the requester", task.TaskID)
		}
		for _, e := range task.Escalation {
			if e.To == "sam" || strings.HasPrefix(e.To, "role:") {
				t.Errorf("task %s escalates to %s, which is or may include the requester", task.TaskID, e.To)
			}
		}
	}
}

// The Privacy Officer's request is reviewed by the Security Officer and not
// escalated to the Privacy Officer role (which holds the requester); the
// CEO's goes to the designee.
func TestPolicyChangeEscalationsSkipTheRequester(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	pats := PolicyChangeRequestID("privacy", "pats")
	h.on(HumanTaskID(pats, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(pats, "second-approval/1"), answer{after: day, by: "cleo", action: ActionApprove})
	h.runChange(pats, PolicyChangeInput{PolicyID: "privacy", Kind: "material", Summary: "retention", RequesterID: "pat"})
	if review := h.task(HumanTaskID(pats, "review/1")); review.AssigneeID != "sam" || len(review.Escalation) != 0 {
		t.Errorf("Privacy Officer's request: review to %s escalating to %v; want the Security Officer, escalating to nobody", review.AssigneeID, review.Escalation)
	}

	h.newEnv(time.Date(2023, 7, 1, 9, 0, 0, 0, time.UTC))
	cleos := PolicyChangeRequestID("access", "cleos")
	h.on(HumanTaskID(cleos, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(cleos, "second-approval/1"), answer{after: day, by: "dee", action: ActionApprove})
	h.runChange(cleos, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "vendor review", RequesterID: "cleo"})
	if second := h.task(HumanTaskID(cleos, "second-approval/1")); second.AssigneeID != "dee" || len(second.Escalation) != 0 {
		t.Errorf("CEO's request: second approval to %s escalating to %v; want the designee only", second.AssigneeID, second.Escalation)
	}
	if review := h.task(HumanTaskID(cleos, "review/1")); len(review.Escalation) != 1 || review.Escalation[0].To != "pat" {
		t.Errorf("review escalates to %v; want the Privacy Officer", review.Escalation)
	}
}

// With nobody but the requester to review, the request fails at open with
// a clear error, and nothing is recorded or handed out.
func TestPolicyChangeRefusedWhenOnlyTheRequesterCouldReview(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.db.Owner.MustExec(`DELETE FROM roles WHERE role = 'privacy_officer'`)
	id := PolicyChangeRequestID("access", "sole-officer")
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.env.ExecuteWorkflow(PolicyChangeRequestWorkflow, PolicyChangeInput{PolicyID: "access", Kind: "minor", Summary: "x", RequesterID: "sam"})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "only the requester, sam, holds the role security_officer or privacy_officer") ||
		!strings.Contains(err.Error(), "program file") {
		t.Errorf("sole officer's own request: %v", err)
	}
	if len(h.tasks) != 0 {
		t.Errorf("tasks started for a refused request: %v", h.taskIDs())
	}
	if n := h.count(`SELECT count(*) FROM change_requests`) + h.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'policy.change.%'`); n != 0 {
		t.Errorf("%d rows recorded for refused request %s", n, id)
	}
}
