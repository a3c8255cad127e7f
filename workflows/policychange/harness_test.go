package policychange

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// newPolicyHarness runs change requests with time skipping (see policytest).
func newPolicyHarness(t *testing.T, start time.Time) *policytest.Harness {
	return policytest.New(t, start, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	})
}
