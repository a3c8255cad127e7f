package policychange

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	changeact "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"

	"go.temporal.io/sdk/client"
)

// The Security Officer's own request is reviewed by the Privacy Officer, and
// no task of it reaches the Security Officer, nor may any escalation.
func TestPolicyChangeOfficersOwnRequestGoesToTheOtherOfficer(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "officers-own")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "second-approval/1"), policytest.Answer{After: policytest.Day, By: "cleo", Action: humantask.ActionApprove})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "material", Summary: "require MFA", Text: "v2 requiring MFA", RequesterID: "sam"})

	if st.Stage != changeact.StatusPublished {
		t.Fatalf("result %+v", st)
	}
	if review := h.Task(humantask.ID(id, "review/1")); review.AssigneeID != "pat" ||
		!reflect.DeepEqual(review.Escalation, []workflows.EscalationStep{{To: "role:privacy_officer", Except: []string{"sam"}}}) {
		t.Errorf("review task to %s escalating to %v: want the Privacy Officer, escalating to the role but the requester", review.AssigneeID, review.Escalation)
	}
	for _, task := range h.Tasks {
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
	pats := ID("privacy", "pats")
	h.On(humantask.ID(pats, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(pats, "second-approval/1"), policytest.Answer{After: policytest.Day, By: "cleo", Action: humantask.ActionApprove})
	runChange(h, pats, Input{PolicyID: "privacy", Kind: "material", Summary: "retention", Text: "v2 on retention", RequesterID: "pat"})
	if review := h.Task(humantask.ID(pats, "review/1")); review.AssigneeID != "sam" ||
		!reflect.DeepEqual(review.Escalation, []workflows.EscalationStep{{To: "role:privacy_officer", Except: []string{"pat"}}}) {
		t.Errorf("Privacy Officer's request: review to %s escalating to %v; want the Security Officer, escalating to the Privacy Officers but pat", review.AssigneeID, review.Escalation)
	}

	h.NewEnv(time.Date(2023, 7, 1, 9, 0, 0, 0, time.UTC))
	cleos := ID("access", "cleos")
	h.On(humantask.ID(cleos, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(cleos, "second-approval/1"), policytest.Answer{After: policytest.Day, By: "dee", Action: humantask.ActionApprove})
	runChange(h, cleos, Input{PolicyID: "access", Kind: "material", Summary: "vendor review", Text: "v2 on vendor review", RequesterID: "cleo"})
	if second := h.Task(humantask.ID(cleos, "second-approval/1")); second.AssigneeID != "dee" ||
		!reflect.DeepEqual(second.Escalation, []workflows.EscalationStep{{To: "role:ceo_designee", Except: []string{"cleo"}}}) {
		t.Errorf("CEO's request: second approval to %s escalating to %v; want the designee, escalating to the designees but cleo", second.AssigneeID, second.Escalation)
	}
	if review := h.Task(humantask.ID(cleos, "review/1")); !reflect.DeepEqual(review.Escalation, []workflows.EscalationStep{{To: "role:privacy_officer", Except: []string{"cleo"}}}) {
		t.Errorf("review escalates to %v; want the Privacy Officers but cleo", review.Escalation)
	}
}

// With nobody but the requester to review, the request fails at open with
// a clear error, and nothing is recorded or handed out.
func TestPolicyChangeRefusedWhenOnlyTheRequesterCouldReview(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.DB.Owner.MustExec(`DELETE FROM roles WHERE role = 'privacy_officer'`)
	id := ID("access", "sole-officer")
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(WorkflowName, Input{PolicyID: "access", Kind: "minor", Summary: "x", RequesterID: "sam"})
	err := h.Env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "only the requester, sam, holds the role security_officer or privacy_officer") ||
		!strings.Contains(err.Error(), "program file") {
		t.Errorf("sole officer's own request: %v", err)
	}
	if len(h.Tasks) != 0 {
		t.Errorf("tasks started for a refused request: %v", h.TaskIDs())
	}
	if n := h.Count(`SELECT count(*) FROM change_requests`) + h.Count(`SELECT count(*) FROM audit_log WHERE action LIKE 'policy.change.%'`); n != 0 {
		t.Errorf("%d rows recorded for refused request %s", n, id)
	}
}
