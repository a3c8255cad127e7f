package offboarding

import (
	"fmt"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// Workflow removes the person's access from every system in the inventory
// and ends once each is confirmed, or when a manager or officer cancels it.
func Workflow(ctx workflow.Context, in Input) (Status, error) {
	w, err := newOffboarding(ctx, in)
	if err != nil {
		return Status{}, err
	}
	return w.run(ctx)
}

type offboarding struct {
	in      Input
	runID   string
	plan    act.Plan
	st      Status
	lastDay time.Time // 00:00 UTC of the last day
	// cancelled is the accepted UpdateCancel, nil until one is.
	cancelled *CancelRequest
	// callbacks are the webhooks' later answers, by system.
	callbacks map[string]CallbackRequest
	// failed is the first step that could not go on (its records failed
	// for good); the run fails with it.
	failed error
}

func newOffboarding(ctx workflow.Context, in Input) (*offboarding, error) {
	info := workflow.GetInfo(ctx)
	w := &offboarding{in: in, runID: info.WorkflowExecution.RunID, callbacks: map[string]CallbackRequest{},
		st: Status{OffboardingID: info.WorkflowExecution.ID, PersonID: in.PersonID, LastDay: in.LastDay, Stage: act.StatusOpen}}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (Status, error) { return w.st, nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, w.cancel,
		workflow.UpdateHandlerOptions{Validator: w.validateCancel}); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateConnectorCallback, w.callback,
		workflow.UpdateHandlerOptions{Validator: w.validateCallback}); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *offboarding) run(ctx workflow.Context) (Status, error) {
	lastDay, err := time.Parse(time.DateOnly, w.in.LastDay)
	if err != nil {
		return w.st, refusal.New("last day %q is not a date such as 2026-12-18", w.in.LastDay)
	}
	w.lastDay = lastDay
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), offboardAct.Open, act.OpenInput{
		RunID: w.runID, WorkflowID: w.st.OffboardingID, PersonID: w.in.PersonID, LastDay: w.in.LastDay,
		StartedBy: w.in.StartedBy, ActedBy: w.in.ActedBy, Reason: w.in.Reason,
	}).Get(ctx, &w.plan)
	if err != nil {
		return w.st, err
	}
	for _, s := range w.plan.Systems {
		w.st.Systems = append(w.st.Systems, SystemStatus{SystemID: s.ID, Method: s.Method, Deadline: w.endOfLastDay().Add(s.Deadline), State: StateWaiting})
	}

	scope, stopSteps := workflow.WithCancel(ctx)
	pending := len(w.plan.Systems) + 1
	for i := range w.plan.Systems {
		workflow.Go(scope, func(gctx workflow.Context) {
			defer func() { pending-- }()
			w.fail(w.step(gctx, i))
		})
	}
	workflow.Go(scope, func(gctx workflow.Context) {
		defer func() { pending-- }()
		w.fail(w.reassignTasks(gctx))
	})
	if err := workflow.Await(ctx, func() bool { return pending == 0 || w.cancelled != nil || w.failed != nil }); err != nil {
		return w.st, err
	}
	stopSteps()
	// Each step ends once its task has recorded its cancellation.
	if err := workflow.Await(ctx, func() bool { return pending == 0 }); err != nil {
		return w.st, err
	}
	if w.failed != nil && w.cancelled == nil {
		return w.st, w.failed
	}
	closing := act.CloseInput{RunID: w.runID, WorkflowID: w.st.OffboardingID, Status: act.StatusCompleted, By: "complyflow",
		At: workflow.Now(ctx), Controls: w.plan.Controls}
	if c := w.cancelled; c != nil {
		closing.Status, closing.By, closing.Note = act.StatusCancelled, c.By, c.Reason
		if c.ActedBy != "" {
			closing.By = c.ActedBy
		}
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), offboardAct.Close, closing).Get(ctx, nil); err != nil {
		return w.st, err
	}
	w.st.Stage = closing.Status
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.st, err
	}
	return w.st, nil
}

// fail keeps the first error a step ends with; a step stopped by a
// cancellation did not fail.
func (w *offboarding) fail(err error) {
	if err != nil && w.failed == nil && !temporal.IsCanceledError(err) {
		w.failed = err
	}
}

// endOfLastDay is when access goes: 00:00 UTC the day after the last day.
func (w *offboarding) endOfLastDay() time.Time { return w.lastDay.AddDate(0, 0, 1) }

// reassignTasks hands the leaver's open tasks elsewhere to their manager
// once the last day has ended; each task records it. Their pending
// acknowledgements and trainings close as left: nobody reminds a leaver.
func (w *offboarding) reassignTasks(ctx workflow.Context) error {
	if err := sleepUntil(ctx, w.endOfLastDay()); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), campaignAct.CloseLeaverAssignments,
		campaignact.LeaverInput{PersonID: w.in.PersonID, By: w.st.OffboardingID,
			Reason: fmt.Sprintf("offboarded, last day %s", w.in.LastDay)}).Get(ctx, nil); err != nil {
		return err
	}
	var ids []string
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), offboardAct.LeaverTasks,
		act.LeaverTasksInput{PersonID: w.in.PersonID, WorkflowID: w.st.OffboardingID}).Get(ctx, &ids); err != nil {
		return err
	}
	if len(ids) > 0 && w.plan.Manager == "" {
		workflow.GetLogger(ctx).Warn("leaver has open tasks and no manager to hand them to", "person", w.in.PersonID, "tasks", ids)
		return nil
	}
	for _, id := range ids {
		err := workflow.SignalExternalWorkflow(ctx, id, "", humantask.SignalReassign, humantask.ReassignRequest{
			To: w.plan.Manager, By: w.st.OffboardingID, Reason: fmt.Sprintf("%s has left (last day %s)", w.in.PersonID, w.in.LastDay),
		}).Get(ctx, nil)
		if temporal.IsCanceledError(err) {
			return err
		}
		if err != nil {
			// The task's workflow has ended since it was listed.
			workflow.GetLogger(ctx).Warn("task not reassigned", "task", id, "err", err)
			continue
		}
		w.st.Reassigned = append(w.st.Reassigned, id)
	}
	return nil
}

// sleepUntil waits for a moment that may already have passed.
func sleepUntil(ctx workflow.Context, t time.Time) error {
	if d := t.Sub(workflow.Now(ctx)); d > 0 {
		return workflow.Sleep(ctx, d)
	}
	return nil
}

var offboardAct *act.Activities

// campaignAct names the campaigns' activities, registered with theirs.
var campaignAct *campaignact.Activities
