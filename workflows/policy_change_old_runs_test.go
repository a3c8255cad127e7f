package workflows

import (
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"
)

// A run from before "requester-not-approver" and "escalate-role-except-requester"
// (say, a request resubmitted after the deploy) still never escalates a task
// to its requester.
func TestPolicyChangeOldRunsNeverEscalateToTheRequester(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	for _, change := range []string{"requester-not-approver", "escalate-role-except-requester"} {
		h.env.OnGetVersion(change, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	// A second designee, so the second approval has an escalation to check.
	h.db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('dan', 'dan@example.com', 'Dan Designee');
		INSERT INTO roles (role, person_id) VALUES ('ceo_designee', 'dan')`)
	id := PolicyChangeRequestID("access", "old-run")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "second-approval/1"), answer{after: day, by: "cleo", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "require MFA", RequesterID: "dee"})
	if st.Stage != StagePublished {
		t.Fatalf("result %+v", st)
	}
	for _, purpose := range []string{"review/1", "second-approval/1"} {
		steps := h.task(HumanTaskID(id, purpose)).Escalation
		if len(steps) != 1 {
			t.Fatalf("%s escalation %+v, want one step to check", purpose, steps)
		}
		for _, e := range steps {
			if !slices.Contains(e.Except, "dee") {
				t.Errorf("%s escalates to %s without excepting the requester dee", purpose, e.To)
			}
		}
	}
}
