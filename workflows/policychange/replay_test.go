package policychange

import (
	"os"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/history"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// replayID is the recorded run's workflow ID: the workflow names its tasks
// after its own ID, and a replay must see the same names.
var replayID = ID("access", "replay")

// TestPolicyChangeReplay replays a change request recorded from a real run
// on the dev server (rejected, resubmitted, approved by the officer and the
// CEO, published and announced). UPDATE_HISTORIES=1 records it again.
func TestPolicyChangeReplay(t *testing.T) {
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		script := map[string]policytest.Answer{
			"review/1":          {By: "sam", Action: humantask.ActionReject, Note: "cite the control"},
			"returned/1":        {By: "eve", Action: humantask.ActionDone, Note: "https://git.example.com/policies/pull/7"},
			"review/2":          {By: "sam", Action: humantask.ActionApprove},
			"second-approval/2": {By: "cleo", Action: humantask.ActionApprove},
		}
		policytest.Record(t, "policy_change_request.json", WorkflowName, replayID,
			Input{PolicyID: "access", Kind: "material", Summary: "require MFA for production", Text: "v2", RequesterID: "eve"},
			func(w worker.Registry) {
				w.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
			},
			func(in humantask.Input, purpose string) (policytest.Answer, bool) {
				a, ok := script[purpose]
				return a, ok && strings.HasPrefix(in.ParentRef, "change-request/")
			})
	}
	history.Replay(t, "policy_change_request.json", WorkflowName, Workflow, replayID)
}
