package offboarding

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/directory"
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

// step removes the person's access from one system. An owner's task opens
// when the last day begins, so the owner can plan the removal; a
// connector is called once the last day has ended, never while the person
// still works.
func (w *offboarding) step(ctx workflow.Context, i int) error {
	s := w.plan.Systems[i]
	if s.Method == directory.RemovalManual {
		if err := sleepUntil(ctx, w.lastDay); err != nil {
			return err
		}
		return w.manual(ctx, i, "")
	}
	if err := sleepUntil(ctx, w.endOfLastDay()); err != nil {
		return err
	}
	w.st.Systems[i].State = StateCalling
	var res act.ConnectorResult
	var err error
	actx := workflow.WithActivityOptions(ctx, connectorOptions)
	if s.Method == directory.RemovalWebhook {
		err = workflow.ExecuteActivity(actx, offboardAct.CallWebhook, act.WebhookInput{
			WorkflowID: w.st.OffboardingID, PersonID: w.in.PersonID, SystemID: s.ID, LastDay: w.in.LastDay}).Get(ctx, &res)
	} else {
		err = workflow.ExecuteActivity(actx, offboardAct.SCIMDeprovision, act.SCIMInput{PersonID: w.in.PersonID, SystemID: s.ID}).Get(ctx, &res)
	}
	switch {
	case temporal.IsCanceledError(err):
		return err
	case err != nil:
		return w.manual(ctx, i, connectorFailure(s.Method, err))
	case res.Status == act.ConnectorRemoved || res.Status == act.ConnectorNoAccount:
		outcome := act.OutcomeRemoved
		if res.Status == act.ConnectorNoAccount {
			outcome = act.OutcomeNoAccount
		}
		return w.record(ctx, i, act.RemovalInput{Method: s.Method, Outcome: outcome, By: "connector:" + s.ID, At: workflow.Now(ctx),
			ConnectorStatus: res.Code, BodySHA256: res.BodySHA256})
	case res.Status == act.ConnectorAccepted:
		return w.awaitCallback(ctx, i, res)
	default:
		return w.manual(ctx, i, res.Reason)
	}
}

// connectorFailure says why a connector's call ended in an error: bad input
// or settings (not retried), or retries exhausted; in the words of the
// error itself, without the activity's bookkeeping.
func connectorFailure(method string, err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if appErr.Type() == refusal.Type {
			return fmt.Sprintf("the %s connector could not be used: %s", method, appErr.Message())
		}
		return fmt.Sprintf("the %s connector failed after its retries: %s", method, appErr.Message())
	}
	return fmt.Sprintf("the %s connector failed after its retries: %v", method, err)
}

// awaitCallback waits for the webhook's POST to its callback URL until the
// deadline (at least callbackGrace, for a run started late); without one,
// or with a failure reported on it, the owner gets the task.
func (w *offboarding) awaitCallback(ctx workflow.Context, i int, accepted act.ConnectorResult) error {
	s := w.plan.Systems[i]
	w.st.Systems[i].State = StateCallback
	wait := max(w.st.Systems[i].Deadline.Sub(workflow.Now(ctx)), callbackGrace)
	got, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { _, ok := w.callbacks[s.ID]; return ok })
	if err != nil {
		return err
	}
	if !got {
		return w.manual(ctx, i, fmt.Sprintf("the webhook accepted the removal (HTTP %d) but did not confirm it on its callback URL by %s",
			accepted.Code, workflow.Now(ctx).UTC().Format(time.RFC3339)))
	}
	cb := w.callbacks[s.ID]
	if cb.Status != act.ConnectorRemoved {
		return w.manual(ctx, i, fmt.Sprintf("the system reported on its callback URL that it could not remove the access (%s): %s", cb.Status, cb.Reason))
	}
	return w.record(ctx, i, act.RemovalInput{Method: s.Method, Outcome: act.OutcomeRemoved, By: "connector:" + s.ID, At: workflow.Now(ctx),
		ConnectorStatus: accepted.Code, BodySHA256: cb.BodySHA256, Note: "confirmed on the callback URL"})
}

// manual hands the removal to the system's owner: "Access removed" with a
// note, or "No account". fallback says why a connector did not do it.
func (w *offboarding) manual(ctx workflow.Context, i int, fallback string) error {
	s := w.plan.Systems[i]
	ss := &w.st.Systems[i]
	ss.State, ss.Fallback = StateTask, fallback
	p := w.plan.Person
	assignee := s.OwnerID
	if assignee == p.ID && w.plan.Manager != "" {
		assignee = w.plan.Manager // nobody removes their own access
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, %s) leaves: their last day is %s. Remove their access to **%s** after the end of that day "+
		"(00:00 UTC %s) and by **%s**.\n\n", p.Name, p.ID, p.Email, w.in.LastDay, s.Name,
		w.endOfLastDay().Format(time.DateOnly), ss.Deadline.UTC().Format("2 Jan 2006 15:04 MST"))
	if fallback != "" {
		fmt.Fprintf(&b, "The %s connector did not remove it: %s.\n\n", s.Method, fallback)
	}
	b.WriteString(`Answer "Access removed" with a note of what you removed, or "No account" if they had none.`)
	out, err := humantask.Child{
		Purpose: "remove/" + s.ID, Assignee: assignee, Body: b.String(),
		Subject: fmt.Sprintf("Remove %s's access to %s by %s", p.Name, s.Name, ss.Deadline.UTC().Format("2 Jan 15:04 MST")),
		Actions: []humantask.Action{humantask.ActionRemoved, humantask.ActionNoAccount},
		// Overdue: the owner's manager at the deadline, then the security
		// officers; never the leaver.
		Escalation: []workflows.EscalationStep{
			{After: 0, To: workflows.EscalateToManager, Except: []string{p.ID}},
			{After: s.OfficerAfter, To: "role:security_officer", Except: []string{p.ID}},
		},
		Controls: w.plan.Controls, Due: max(ss.Deadline.Sub(workflow.Now(ctx)), time.Second), Remind: s.RemindEvery,
	}.Run(ctx)
	if err != nil {
		return err
	}
	ss.TaskID = out.TaskID
	outcome := act.OutcomeRemoved
	if out.Action == humantask.ActionNoAccount {
		outcome = act.OutcomeNoAccount
	}
	return w.record(ctx, i, act.RemovalInput{Method: directory.RemovalManual, Outcome: outcome, By: out.By, At: out.At,
		FallbackReason: fallback, TaskID: out.TaskID, Note: out.Note})
}

// record writes the system's removal as evidence, with its deadline.
func (w *offboarding) record(ctx workflow.Context, i int, r act.RemovalInput) error {
	ss := &w.st.Systems[i]
	r.RunID, r.WorkflowID, r.PersonID, r.SystemID = w.runID, w.st.OffboardingID, w.in.PersonID, ss.SystemID
	r.Deadline, r.Controls = ss.Deadline, w.plan.Controls
	if r.FallbackReason == "" {
		r.FallbackReason = ss.Fallback
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), offboardAct.RecordRemoval, r).Get(ctx, nil); err != nil {
		return err
	}
	ss.State, ss.Outcome, ss.By, ss.At, ss.Met = StateDone, r.Outcome, r.By, r.At, !r.At.After(ss.Deadline)
	return nil
}

// reassignTasks hands the leaver's open tasks elsewhere to their manager
// once the last day has ended; each task records it.
func (w *offboarding) reassignTasks(ctx workflow.Context) error {
	if err := sleepUntil(ctx, w.endOfLastDay()); err != nil {
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

// validateCancel admits a cancellation of an open offboarding, with a
// reason, by a manager up the person's chain or a security officer.
func (w *offboarding) validateCancel(req CancelRequest) error {
	switch {
	case w.st.Stage != act.StatusOpen || w.cancelled != nil:
		return fmt.Errorf("offboarding %s is %s and can no longer be cancelled", w.st.OffboardingID, w.st.Stage)
	case strings.TrimSpace(req.Reason) == "":
		return fmt.Errorf("a cancellation needs a reason (rehire, mistake, ...)")
	case len(w.plan.Cancellers) == 0:
		return fmt.Errorf("offboarding %s is still being opened; try again in a moment", w.st.OffboardingID)
	case !slices.Contains(w.plan.Cancellers, req.By):
		return fmt.Errorf("%s may not cancel offboarding %s: only %s may", req.By, w.st.OffboardingID, strings.Join(w.plan.Cancellers, ", "))
	}
	return nil
}

// cancel stops every removal step (their open tasks are cancelled) and
// returns once the cancellation is recorded.
func (w *offboarding) cancel(ctx workflow.Context, req CancelRequest) (Status, error) {
	if err := w.validateCancel(req); err != nil {
		return Status{}, err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	w.cancelled = &req
	w.st.CancelledBy, w.st.CancelReason = req.By, req.Reason
	if err := workflow.Await(ctx, func() bool { return w.st.Stage == act.StatusCancelled }); err != nil {
		return Status{}, err
	}
	return w.st, nil
}

// validateCallback admits one answer per webhook system whose removal was
// called (its answer may arrive before the call's own result is recorded).
func (w *offboarding) validateCallback(req CallbackRequest) error {
	i := slices.IndexFunc(w.st.Systems, func(s SystemStatus) bool { return s.SystemID == req.SystemID })
	switch {
	case i < 0:
		return fmt.Errorf("system %q is not part of offboarding %s", req.SystemID, w.st.OffboardingID)
	case w.st.Systems[i].Method != directory.RemovalWebhook:
		return fmt.Errorf("system %s is removed by %s, not a webhook", req.SystemID, w.st.Systems[i].Method)
	case w.st.Systems[i].State != StateCalling && w.st.Systems[i].State != StateCallback:
		return fmt.Errorf("system %s is not waiting for a callback (it is %s)", req.SystemID, w.st.Systems[i].State)
	case req.Status == "":
		return fmt.Errorf(`a callback says {"status":"removed"}, or another status with a reason`)
	}
	if _, dup := w.callbacks[req.SystemID]; dup {
		return fmt.Errorf("system %s has already answered", req.SystemID)
	}
	return nil
}

func (w *offboarding) callback(ctx workflow.Context, req CallbackRequest) error {
	if err := w.validateCallback(req); err != nil {
		return err
	}
	w.callbacks[req.SystemID] = req
	return nil
}

// sleepUntil waits for a moment that may already have passed.
func sleepUntil(ctx workflow.Context, t time.Time) error {
	if d := t.Sub(workflow.Now(ctx)); d > 0 {
		return workflow.Sleep(ctx, d)
	}
	return nil
}

// callbackGrace is the least a webhook that accepted is given to call back,
// so that a run started after a deadline still lets the system answer.
const callbackGrace = time.Hour

// connectorOptions call a webhook or a SCIM service: a 5xx or a network
// error is retried with backoff, 7 attempts over about 30 minutes, and then
// the owner gets the task (issue 13: "5xx and network errors retry with
// backoff; ... retries exhausted fall back to a manual task").
var connectorOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 30 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		MaximumAttempts: 7, NonRetryableErrorTypes: []string{refusal.Type, "UnknownPerson"}},
}

var offboardAct *act.Activities
