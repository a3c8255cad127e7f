package campaign

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/workflows"
)

// Without an acknowledgement obligation in the program file, a material
// change still owes its re-acknowledgement: two weeks, reminded weekly.
const (
	reacknowledgementDue    = 14 * 24 * time.Hour
	reacknowledgementRemind = 7 * 24 * time.Hour
)

// StartReacknowledgement starts the campaign a material change owes (issue
// 11 item 5): that policy only, to everyone active, with the cadence and
// escalation of the program file's acknowledgement obligation. It runs as
// an abandoned child, so the change request ends while the campaign goes
// on; a campaign already started for the version (a replayed publish) is
// that one. It returns once the campaign has started.
func StartReacknowledgement(ctx workflow.Context, policyID, version, requestID string) error {
	var set act.Settings
	rec := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	if err := workflow.ExecuteActivity(rec, a.ObligationSettings, act.ProcessAcknowledgement).Get(ctx, &set); err != nil {
		return err
	}
	in := Input{Kind: act.KindAcknowledgement, StartedBy: "complyflow",
		Reason: "material change " + requestID + " published version " + version}
	in.Process, in.Scope = act.ProcessAcknowledgement, []string{policyID}
	in.DuePeriod, in.RemindEvery = reacknowledgementDue, reacknowledgementRemind
	if set.Found {
		in.follow(set.Obligation)
		in.DuePeriod = set.Due
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            ReacknowledgementID(policyID, version),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	err := workflow.ExecuteChildWorkflow(cctx, WorkflowName, in).GetChildWorkflowExecution().Get(ctx, nil)
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &started) {
		return nil
	}
	return err
}
