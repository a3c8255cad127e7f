package offboarding

import (
	"errors"
	"fmt"
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
		fmt.Fprintf(&b, "Not removed automatically: %s.\n\n", fallback)
	}
	b.WriteString(`Answer "Access removed" with a note of what you removed, or "No account" if they had none.`)
	out, err := humantask.Child{
		Purpose: taskPurpose(w.runID, s.ID), Assignee: assignee, Body: b.String(),
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

// taskPurpose names a system's removal task within one run: a person
// offboarded again (after a cancellation, or a rehire who leaves again)
// gets new tasks, not the closed ones of the run before.
func taskPurpose(runID, systemID string) string { return "remove/" + systemID + "/" + runID }

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
