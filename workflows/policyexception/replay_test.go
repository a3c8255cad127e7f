package policyexception

import (
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/history"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var replayID = ID("access", "replay")

// TestPolicyExceptionReplay replays an exception recorded from a real run on
// the dev server (approved by both, renewed inside its term, approved again,
// then closed at re-evaluation). UPDATE_HISTORIES=1 records it again.
func TestPolicyExceptionReplay(t *testing.T) {
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		script := map[string]policytest.Answer{
			"security_officer/1": {By: "sam", Action: humantask.ActionApprove},
			"coo/1":              {By: "coby", Action: humantask.ActionApprove},
			"re-evaluation/1":    {By: "sam", Action: humantask.ActionApprove, Note: "renew: appliance swap slipped"},
			"security_officer/2": {By: "sam", Action: humantask.ActionApprove},
			"coo/2":              {By: "coby", Action: humantask.ActionApprove},
			"re-evaluation/2":    {By: "sam", Action: humantask.ActionReject, Note: "appliance replaced"},
		}
		policytest.Record(t, "policy_exception.json", WorkflowName, replayID,
			Input{PolicyID: "access", RequesterID: "eve", Purpose: "legacy VPN appliance", Reason: "it cannot do MFA",
				Expires: time.Now().Add(20 * time.Second)},
			func(w worker.Registry) {
				w.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
			},
			func(_ humantask.Input, purpose string) (policytest.Answer, bool) {
				a, ok := script[purpose]
				return a, ok
			})
	}
	history.Replay(t, "policy_exception.json", WorkflowName, Workflow, replayID)
}
