package workflows

import (
	"reflect"
	"testing"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/activities"
)

// A run opened before the requester was left out of info.COOs, and
// from before "escalate-role-except-requester", still never escalates the
// re-evaluation to the requester.
func TestReEvaluationNeverEscalatesToTheRequester(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.OnGetVersion("escalate-role-except-requester", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.ExecuteWorkflow(func(ctx workflow.Context) ([]EscalationStep, error) {
		w := &policyException{in: PolicyExceptionInput{RequesterID: "coby"},
			info: activities.ExceptionInfo{COOs: []string{"coby", "dee"}}}
		return w.reEvaluationEscalation(ctx), nil
	})
	var steps []EscalationStep
	if err := env.GetWorkflowResult(&steps); err != nil {
		t.Fatal(err)
	}
	if want := []EscalationStep{{After: 0, To: "dee"}}; !reflect.DeepEqual(steps, want) {
		t.Fatalf("escalation %+v, want %+v", steps, want)
	}
}
