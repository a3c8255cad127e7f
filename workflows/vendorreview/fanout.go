package vendorreview

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
)

// FanOutResult is what one run of the schedule started.
type FanOutResult struct {
	Started        []string
	AlreadyStarted []string
}

// FanOut is the vendor-review obligation's run: it starts a cycle for every
// vendor due (none open, and never reviewed or its last report's next
// request date reached), each with the cadence of its criticality from the
// program file, and ends once they have started; the cycles run on.
func FanOut(ctx workflow.Context, run workflows.ScheduledRun) (FanOutResult, error) {
	var res FanOutResult
	if run.Vendors == nil || len(run.Vendors.MonthsByCriticality) == 0 {
		return res, temporal.NewNonRetryableApplicationError("the vendor-review obligation has no vendors cadence in the program file",
			refusal.Type, nil)
	}
	var due []act.DueVendor
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), vendorAct.DueVendors, act.DueVendorsInput{
		At: workflow.Now(ctx), CadenceMonths: run.Vendors.MonthsByCriticality,
	}).Get(ctx, &due)
	if err != nil {
		return res, err
	}
	for _, d := range due {
		id := ID(d.VendorID, d.Cycle)
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: id, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		})
		f := workflow.ExecuteChildWorkflow(cctx, WorkflowName, InputFromRun(run, d.VendorID, d.Cycle, d.CadenceMonths))
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		switch {
		case temporal.IsWorkflowExecutionAlreadyStartedError(err):
			res.AlreadyStarted = append(res.AlreadyStarted, id)
		case err != nil:
			return res, fmt.Errorf("start %s: %w", id, err)
		default:
			res.Started = append(res.Started, id)
		}
	}
	return res, nil
}

// InputFromRun is the cycle an obligation's run asks of one vendor.
func InputFromRun(run workflows.ScheduledRun, vendorID, cycle string, cadenceMonths int) Input {
	in := Input{VendorID: vendorID, Cycle: cycle, DuePeriod: run.DuePeriod, RemindEvery: run.RemindEvery,
		Escalation: run.Escalation, ControlIDs: run.ControlIDs, CadenceMonths: cadenceMonths}
	if run.Vendors != nil {
		in.RequestBeforeDays = run.Vendors.RequestBeforeDays
	}
	return in
}
