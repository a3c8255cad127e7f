package policyexception

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/activities/notify"
	act "github.com/complyflow/complyflow/activities/policyexception"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// Exception reminders: policy-management (e) has an exception re-evaluated
// on or before its expiry. The re-evaluation task opens with the first
// reminder and is due at the expiry.
var exceptionReminders = []time.Duration{30 * day, 7 * day}

const day = 24 * time.Hour

// Workflow runs one exception to a policy: documented purpose and
// reason, approval by both the Security Officer and the COO (either may
// reject), a term of at most a year from approval, reminders ahead of the
// expiry, and a re-evaluation that renews it (a new approval round, as a new
// run) or closes it. An exception not re-evaluated by its expiry lapses.
func Workflow(ctx workflow.Context, in Input) (Status, error) {
	w, err := newPolicyException(ctx, in)
	if err != nil {
		return Status{}, err
	}
	return w.run(ctx)
}

type policyException struct {
	in   Input
	info act.ExceptionInfo
	st   Status
	// lapse is the end of the term still in effect while its renewal is
	// decided; zero when none is.
	lapse time.Time
}

func newPolicyException(ctx workflow.Context, in Input) (*policyException, error) {
	if in.Round < 1 {
		in.Round = 1
	}
	w := &policyException{in: in, st: Status{
		ExceptionID: workflow.GetInfo(ctx).WorkflowExecution.ID, PolicyID: in.PolicyID, Stage: act.StatusRequested, Round: in.Round,
	}}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (Status, error) { return w.st, nil }); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *policyException) run(ctx workflow.Context) (Status, error) {
	actx := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	var err error
	if w.in.Round == 1 {
		err = workflow.ExecuteActivity(actx, policyAct.OpenException, act.OpenExceptionInput{
			ID: w.st.ExceptionID, PolicyID: w.in.PolicyID, RequesterID: w.in.RequesterID, ActedBy: w.in.ActedBy, Purpose: w.in.Purpose,
			Reason: w.in.Reason, Expires: w.in.Expires, At: workflow.Now(ctx),
		}).Get(ctx, &w.info)
	} else {
		err = workflow.ExecuteActivity(actx, policyAct.ExceptionApprovers, act.ExceptionApproversInput{ID: w.st.ExceptionID}).Get(ctx, &w.info)
		if err == nil && w.info.Refused != "" {
			return w.st, w.refuseRenewal(ctx)
		}
		if err == nil && w.termInEffect(ctx) {
			// Renewed before its expiry: the term runs on, and lapses at its
			// end unless the renewal is approved first.
			w.lapse = w.info.InEffect.ExpiresAt
			w.st.ApprovedAt, w.st.ExpiresAt = w.info.InEffect.ApprovedAt, w.info.InEffect.ExpiresAt
		} else if err == nil {
			err = w.setStatus(ctx, act.StatusRequested, w.in.RequesterID, workflow.Now(ctx), "")
		}
	}
	if err != nil {
		return w.st, err
	}
	approved, err := w.approvals(ctx)
	if err != nil || !approved {
		return w.st, err
	}
	renew, err := w.untilReEvaluated(ctx)
	if err != nil || !renew {
		return w.st, err
	}
	next := w.in
	next.Round++
	return w.st, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
}

// termInEffect reports whether a renewal run starts while the term before it
// still runs.
func (w *policyException) termInEffect(ctx workflow.Context) bool {
	return w.info.InEffect.ExpiresAt.After(workflow.Now(ctx))
}

func (w *policyException) setStatus(ctx workflow.Context, status, actor string, at time.Time, note string) error {
	var term act.ExceptionTerm
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.SetExceptionStatus,
		act.ExceptionStatusInput{ID: w.st.ExceptionID, Round: w.in.Round, Status: status, Actor: actor, At: at, Controls: w.info.Controls,
			Note: note}).
		Get(ctx, &term)
	if err == nil && status == act.StatusApproved {
		w.st.ApprovedAt, w.st.ExpiresAt = term.ApprovedAt, term.ExpiresAt
	}
	return err
}

func (w *policyException) decide(ctx workflow.Context, step string, out humantask.Outcome) error {
	w.st.Decisions = append(w.st.Decisions, humantask.DecisionOf(step, out))
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.RecordExceptionDecision,
		act.ExceptionDecisionInput{ID: w.st.ExceptionID, Round: w.in.Round, Step: step, TaskID: out.TaskID, By: out.By,
			Action: string(out.Action), Note: out.Note, At: out.At, Controls: w.info.Controls}).Get(ctx, nil)
}

func (w *policyException) describe() string {
	kind := "Exception"
	if w.in.Round > 1 {
		kind = fmt.Sprintf("Renewal %d of the exception", w.in.Round-1)
	}
	return fmt.Sprintf("%s to **%s** (%s) requested by %s.\n\n- Business Purpose: %s\n- Why the requirement cannot be met: %s\n",
		kind, w.info.Policy.Title, w.in.PolicyID, w.in.RequesterID, w.in.Purpose, w.in.Reason)
}

// approvals asks the Security Officer and the COO at once; the first
// rejection ends the round and withdraws the other task.
func (w *policyException) approvals(ctx workflow.Context) (bool, error) {
	w.st.Stage = act.StatusRequested
	if !w.lapse.IsZero() {
		w.st.Stage = StageRenewing
	}
	term := "until " + w.in.Expires.Format(time.DateOnly)
	if w.in.Round > 1 {
		term = "for another term as long as the first"
	}
	body := w.describe() + fmt.Sprintf("\nIt would run %s (at most a year from approval). Both the Security Officer and the COO must approve; "+
		"reject with a note to refuse it.", term)
	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	type answered struct {
		step, taskID string
		out          humantask.Outcome
		err          error
	}
	var answers []answered
	sel := workflow.NewSelector(ctx)
	so, coo := w.info.SecurityOfficers[0], w.info.COOs[0]
	for _, ap := range []struct {
		step, assignee string
		escalation     []workflows.EscalationStep
	}{
		{"security_officer", so, w.approvalEscalation("security_officer", so, coo)},
		{"coo", coo, w.approvalEscalation("coo", coo, so)},
	} {
		id, f := humantask.Child{
			Purpose: fmt.Sprintf("%s/%d", ap.step, w.in.Round), Assignee: ap.assignee, Body: body, Escalation: ap.escalation,
			Subject: fmt.Sprintf("Approve policy exception: %s", w.info.Policy.Title),
			Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject}, Controls: w.info.Controls,
			Due: w.in.DuePeriod, Remind: w.in.RemindEvery,
		}.Start(cctx)
		sel.AddFuture(f, func(f workflow.Future) {
			a := answered{step: ap.step, taskID: id}
			a.err = f.Get(ctx, &a.out)
			a.out.TaskID = id
			answers = append(answers, a)
		})
	}
	lapsed := false
	if !w.lapse.IsZero() {
		sel.AddFuture(workflow.NewTimer(cctx, w.lapse.Sub(workflow.Now(ctx))), func(workflow.Future) { lapsed = true })
	}
	var last humantask.Outcome
	for handled := 0; handled < 2; {
		sel.Select(ctx)
		if lapsed && w.st.Stage == StageRenewing {
			// The term ran out before the renewal was approved.
			w.st.Stage = act.StatusExpired
			if err := w.setStatus(ctx, act.StatusExpired, "complyflow", workflow.Now(ctx), "the renewal was not approved before the term ended"); err != nil {
				return false, err
			}
			continue
		}
		a := answers[handled]
		handled++
		if a.err != nil {
			return false, fmt.Errorf("%s approval: %w", a.step, a.err)
		}
		if err := w.decide(ctx, a.step, a.out); err != nil {
			return false, err
		}
		if a.out.Action != humantask.ActionApprove {
			cancel()
			if w.st.Stage == StageRenewing {
				return false, w.runOut(ctx)
			}
			w.st.Stage = act.StatusRejected
			return false, w.setStatus(ctx, act.StatusRejected, a.out.By, a.out.At, "")
		}
		last = a.out
	}
	if w.in.Round == 1 && !w.in.Expires.After(last.At) {
		// The term asked for ended before the approval: approving it would
		// record a term that ends before it starts.
		w.st.Stage = act.StatusRejected
		return false, w.setStatus(ctx, act.StatusRejected, "complyflow", last.At, fmt.Sprintf(
			"approved on %s, after the expiry asked for (%s): the exception would expire at once; request it again with a new expiry",
			last.At.Format(time.DateOnly), w.in.Expires.Format(time.DateOnly)))
	}
	// Approved once the record says so, with its term: a status query
	// never shows an approval without its expiry.
	if err := w.setStatus(ctx, act.StatusApproved, last.By, last.At, ""); err != nil {
		return false, err
	}
	w.st.Stage = act.StatusApproved
	if w.st.ExpiresAt.After(w.st.ApprovedAt.AddDate(1, 0, 0)) {
		return false, temporal.NewNonRetryableApplicationError("exception term longer than a year", "BadInput", nil)
	}
	return true, nil
}

// refuseRenewal ends a renewal nobody but the requester may approve (a role
// only they hold): a term still in effect runs to its end and expires, as
// after a rejected renewal; otherwise the renewal is recorded refused. Either
// way the record says which role to fill.
func (w *policyException) refuseRenewal(ctx workflow.Context) error {
	note := "the renewal cannot be approved: " + w.info.Refused
	if end := w.info.InEffect.ExpiresAt; end.After(workflow.Now(ctx)) {
		w.st.Stage = act.StatusApproved
		w.st.ApprovedAt, w.st.ExpiresAt = w.info.InEffect.ApprovedAt, end
		if err := sleepUntil(ctx, end); err != nil {
			return err
		}
		w.st.Stage = act.StatusExpired
		return w.setStatus(ctx, act.StatusExpired, "complyflow", workflow.Now(ctx), note)
	}
	w.st.Stage = act.StatusRejected
	return w.setStatus(ctx, act.StatusRejected, "complyflow", workflow.Now(ctx), note)
}

// runOut lets the term in effect run to its end after its renewal was
// rejected, and records it expired then.
func (w *policyException) runOut(ctx workflow.Context) error {
	if err := sleepUntil(ctx, w.lapse); err != nil {
		return err
	}
	w.st.Stage = act.StatusExpired
	return w.setStatus(ctx, act.StatusExpired, "complyflow", workflow.Now(ctx), "the renewal was rejected; the term ended")
}

// untilReEvaluated waits for the re-evaluation: reminders 30 and 7 days
// ahead, the task from the first reminder on, due at the expiry, and the
// lapse at the expiry if nobody has decided. It reports whether to renew.
func (w *policyException) untilReEvaluated(ctx workflow.Context) (bool, error) {
	expires := w.st.ExpiresAt
	if err := sleepUntil(ctx, expires.Add(-exceptionReminders[0])); err != nil {
		return false, err
	}
	w.st.Stage = StageReEvaluation
	until := expires.Sub(workflow.Now(ctx))
	id, task := humantask.Child{
		Purpose: fmt.Sprintf("re-evaluation/%d", w.in.Round), Assignee: w.info.SecurityOfficers[0],
		Subject: fmt.Sprintf("Re-evaluate policy exception before %s: %s", expires.Format(time.DateOnly), w.info.Policy.Title),
		Body: w.describe() + fmt.Sprintf("\nIt expires on %s. Approve to renew it (both approvals are asked again), "+
			"or reject to close it.", expires.Format(time.DateOnly)),
		Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject}, Controls: w.info.Controls,
		Due: max(until, time.Hour), Remind: w.in.RemindEvery,
		Escalation: w.reEvaluationEscalation(),
	}.Start(ctx)

	// Each wake is a reminder (lead > 0) or the expiry (lead 0); the task's
	// answer ends the wait whichever comes first.
	decided := false
	var fired []time.Duration
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(task, func(workflow.Future) { decided = true })
	tctx, cancelTimers := workflow.WithCancel(ctx)
	defer cancelTimers()
	for _, lead := range append(slices.Clone(exceptionReminders), 0) {
		d := expires.Add(-lead).Sub(workflow.Now(ctx))
		if d < 0 && lead > 0 {
			continue // a term shorter than the reminder's lead
		}
		sel.AddFuture(workflow.NewTimer(tctx, max(d, 0)), func(workflow.Future) { fired = append(fired, lead) })
	}
	for !decided {
		sel.Select(ctx)
		for _, lead := range fired {
			if lead > 0 {
				w.remind(ctx, lead, expires)
				continue
			}
			w.st.Stage = act.StatusExpired
			if err := w.setStatus(ctx, act.StatusExpired, "complyflow", workflow.Now(ctx), ""); err != nil {
				return false, err
			}
		}
		fired = nil
	}
	cancelTimers()
	var out humantask.Outcome
	if err := task.Get(ctx, &out); err != nil {
		return false, fmt.Errorf("re-evaluation: %w", err)
	}
	out.TaskID = id
	if err := w.decide(ctx, "re-evaluation", out); err != nil {
		return false, err
	}
	if out.Action == humantask.ActionApprove {
		w.st.Stage = StageRenewing
		return true, nil
	}
	w.st.Stage = act.StatusClosed
	return false, w.setStatus(ctx, act.StatusClosed, out.By, out.At, "")
}

// approvalEscalation hands an overdue approval to the role's other holders
// of the day it fires (not its assignee, who keeps it), never the requester,
// nor the one asked for the other approval: the exception needs two
// different people.
func (w *policyException) approvalEscalation(role, assignee, otherApprover string) []workflows.EscalationStep {
	return []workflows.EscalationStep{{After: 0, To: "role:" + role, Except: []string{w.in.RequesterID, assignee, otherApprover}}}
}

// reEvaluationEscalation hands an undecided re-evaluation to the COOs at
// the expiry: whoever holds the role then, never the requester.
func (w *policyException) reEvaluationEscalation() []workflows.EscalationStep {
	return []workflows.EscalationStep{{After: 0, To: "role:coo", Except: []string{w.in.RequesterID}}}
}

// remind emails the requester and the Security Officers that the exception
// expires in lead and must be re-evaluated.
func (w *policyException) remind(ctx workflow.Context, lead time.Duration, expires time.Time) {
	w.st.Reminders++
	days := int(lead / day)
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.MessageOptions), messagesAct.EmailPeople, notify.EmailPeopleInput{
		Key:       fmt.Sprintf("%s/round/%d/reminder/%dd", w.st.ExceptionID, w.in.Round, days),
		Purpose:   fmt.Sprintf("exception-reminder/%dd", days),
		Ref:       w.st.ExceptionID,
		PersonIDs: append([]string{w.in.RequesterID}, w.info.SecurityOfficers...),
		Subject:   fmt.Sprintf("Policy exception expires in %d days: %s", days, w.info.Policy.Title),
		Text: fmt.Sprintf("%s\nThe exception expires on %s and must be re-evaluated on or before that date: "+
			"the Security Officer renews or closes it.", w.describe(), expires.Format(time.DateOnly)),
		AuditAction: "policy.exception.reminded", Controls: w.info.Controls,
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("exception reminder not sent", "days", days, "err", err)
	}
}

// sleepUntil waits for a moment that may already have passed.
func sleepUntil(ctx workflow.Context, t time.Time) error {
	if d := t.Sub(workflow.Now(ctx)); d > 0 {
		return workflow.Sleep(ctx, d)
	}
	return nil
}

var (
	policyAct   *act.Activities
	messagesAct *notify.Messages
)
