package policyreview

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/workflows/internal/policytest"
	"github.com/complyflow/complyflow/workflows/policychange"
)

// newPolicyHarness runs annual reviews and the change requests they start
// with time skipping (see policytest).
func newPolicyHarness(t *testing.T, start time.Time) *policytest.Harness {
	return policytest.New(t, start, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
		env.RegisterWorkflowWithOptions(policychange.Workflow, workflow.RegisterOptions{Name: policychange.WorkflowName})
	})
}
