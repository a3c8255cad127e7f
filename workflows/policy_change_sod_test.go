package workflows

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// The Security Officer's own request is reviewed by the Privacy Officer, and
// no task of it reaches the Security Officer, nor may any escalation.
func TestPolicyChangeOfficersOwnRequestGoesToTheOtherOfficer(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "officers-own")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "pat", action: ActionApprove})
	h.on(HumanTaskID(id, "second-approval/1"), answer{after: day, by: "cleo", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "require MFA", RequesterID: "sam"})

	if st.Stage != StagePublished {
		t.Fatalf("result %+v", st)
	}
	if review := h.task(HumanTaskID(id, "review/1")); review.AssigneeID != "pat" ||
		!reflect.DeepEqual(review.Escalation, []EscalationStep{{To: "role:privacy_officer", Except: []string{"sam"}}}) {
		t.Errorf("review task to %s escalating to %v: want the Privacy Officer, escalating to the role but the requester", review.AssigneeID, review.Escalation)
	}
	for _, task := range h.tasks {
		if task.AssigneeID == "sam" {
			t.Errorf("task %s went to the requester", task.TaskID)
		}
		for _, e := range task.Escalation {
			if e.To == "sam" || (strings.HasPrefix(e.To, "role:") && !slices.Contains(e.Except, "sam")) {
				t.Errorf("task %s escalates to %s, which is or may include the requester", task.TaskID, e.To)
			}
		}
	}
}

// The Privacy Officer's request is reviewed by the Security Officer and
// escalated to the Privacy Officer role less the requester; the CEO's goes
// to the designee.
func TestPolicyChangeEscalationsSkipTheRequester(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	pats := PolicyChangeRequestID("privacy", "pats")
	h.on(HumanTaskID(pats, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(pats, "second-approval/1"), answer{after: day, by: "cleo", action: ActionApprove})
	h.runChange(pats, PolicyChangeInput{PolicyID: "privacy", Kind: "material", Summary: "retention", RequesterID: "pat"})
	if review := h.task(HumanTaskID(pats, "review/1")); review.AssigneeID != "sam" ||
		!reflect.DeepEqual(review.Escalation, []EscalationStep{{To: "role:privacy_officer", Except: []string{"pat"}}}) {
		t.Errorf("Privacy Officer's request: review to %s escalating to %v; want the Security Officer, escalating to the Privacy Officers but pat", review.AssigneeID, review.Escalation)
	}

	h.newEnv(time.Date(2023, 7, 1, 9, 0, 0, 0, time.UTC))
	cleos := PolicyChangeRequestID("access", "cleos")
	h.on(HumanTaskID(cleos, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(cleos, "second-approval/1"), answer{after: day, by: "dee", action: ActionApprove})
	h.runChange(cleos, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "vendor review", RequesterID: "cleo"})
	if second := h.task(HumanTaskID(cleos, "second-approval/1")); second.AssigneeID != "dee" ||
		!reflect.DeepEqual(second.Escalation, []EscalationStep{{To: "role:ceo_designee", Except: []string{"cleo"}}}) {
		t.Errorf("CEO's request: second approval to %s escalating to %v; want the designee, escalating to the designees but cleo", second.AssigneeID, second.Escalation)
	}
	if review := h.task(HumanTaskID(cleos, "review/1")); !reflect.DeepEqual(review.Escalation, []EscalationStep{{To: "role:privacy_officer", Except: []string{"cleo"}}}) {
		t.Errorf("review escalates to %v; want the Privacy Officers but cleo", review.Escalation)
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
