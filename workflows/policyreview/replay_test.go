package policyreview

import (
	"os"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/history"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
	"github.com/complyflow/complyflow/workflows/policychange"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const replayID = "annual-policy-review/replay"

// TestAnnualPolicyReviewReplay replays a review recorded from a real run on
// the dev server (one member asks for a change, which a child change request
// returns to them for its document and publishes once they give where it
// lives; the officer rejects the first sign-off and approves the second).
// UPDATE_HISTORIES=1 records it again.
func TestAnnualPolicyReviewReplay(t *testing.T) {
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		script := map[string]policytest.Answer{
			"open":         {By: "sam", Action: humantask.ActionDone},
			"review/1/eve": {By: "eve", Action: humantask.ActionApprove},
			"review/1/pat": {By: "pat", Action: humantask.ActionReject, Note: "privacy: name the Data Protection Officer\nand how to reach them"},
			"sign-off/1":   {By: "sam", Action: humantask.ActionReject, Note: "say which policies the privacy change touches"},
			"review/2/eve": {By: "eve", Action: humantask.ActionApprove},
			"review/2/pat": {By: "pat", Action: humantask.ActionApprove},
			"sign-off/2":   {By: "sam", Action: humantask.ActionApprove},
			// the child change request's tasks
			"review/1":          {By: "sam", Action: humantask.ActionApprove},
			"second-approval/1": {By: "cleo", Action: humantask.ActionApprove},
			"returned/1":        {By: "pat", Action: humantask.ActionDone, Note: "https://docs.example.com/privacy-policy-dpo"},
			"review/2":          {By: "sam", Action: humantask.ActionApprove},
			"second-approval/2": {By: "cleo", Action: humantask.ActionApprove},
		}
		child := map[string]bool{"review/1": true, "second-approval/1": true, "returned/1": true, "review/2": true, "second-approval/2": true}
		policytest.Record(t, "annual_policy_review.json", WorkflowName, replayID,
			workflows.ScheduledRun{ObligationID: "annual-policy-review", Process: Process, DuePeriod: 14 * policytest.Day, RemindEvery: 3 * policytest.Day},
			func(w worker.Registry) {
				w.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
				w.RegisterWorkflowWithOptions(policychange.Workflow, workflow.RegisterOptions{Name: policychange.WorkflowName})
			},
			func(in humantask.Input, purpose string) (policytest.Answer, bool) {
				a, ok := script[purpose]
				isChild := strings.HasPrefix(in.ParentRef, "change-request/")
				return a, ok && isChild == child[purpose]
			})
	}
	history.Replay(t, "annual_policy_review.json", WorkflowName, Workflow, replayID)
}
