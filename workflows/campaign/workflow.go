package campaign

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
)

// a names the activities; the worker registers a real *act.Activities.
var a *act.Activities

// sendOptions are for the rounds that send (notices, digests): one activity
// sends a whole round in batches and heartbeats every few seconds, so a
// worker that dies is noticed within 20 seconds and the retry resumes after
// the last batch recorded. The messages are owed (people must be told what they are
// asked to sign), so it retries until the mail server takes them; only bad
// input gives up.
var sendOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Hour,
	HeartbeatTimeout:    20 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		NonRetryableErrorTypes: []string{refusal.Type}},
}

// idleCheck: with no reminder or escalation due, a round still runs this
// often, to close leavers and notice that everyone is done.
const idleCheck = 24 * time.Hour

// Workflow runs one campaign to its end: nobody pending.
func Workflow(ctx workflow.Context, in Input) (Status, error) {
	w := &campaign{in: in, id: workflow.GetInfo(ctx).WorkflowExecution.ID}
	w.def = in.Definition(w.id)
	if in.State != nil {
		w.st = *in.State
	}
	w.status.Stage = StageOpening
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (Status, error) { return w.snapshot(), nil }); err != nil {
		return Status{}, err
	}
	added := workflow.GetSignalChannel(ctx, SignalAddPeople)
	if in.State == nil {
		if err := w.open(ctx, added); err != nil {
			return w.snapshot(), err
		}
	}
	rounds, limit := 0, in.RoundsPerRun
	if limit <= 0 {
		limit = DefaultRoundsPerRun
	}
	for {
		// Late joiners first: a signal is never left behind by a close or
		// a continue-as-new.
		var people []string
		for added.ReceiveAsync(&people) {
			if err := w.addPeople(ctx, people); err != nil {
				return w.snapshot(), err
			}
		}
		if w.st.Counts.Pending == 0 {
			return w.close(ctx)
		}
		if rounds >= limit || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return w.continueAsNew(ctx)
		}
		next, what := w.nextRound()
		w.status.Stage, w.status.NextRound = StageRunning, next
		if wait := next.Sub(workflow.Now(ctx)); wait > 0 {
			timerCtx, cancel := workflow.WithCancel(ctx)
			timer := workflow.NewTimer(timerCtx, wait)
			signalled := false
			sel := workflow.NewSelector(ctx)
			sel.AddFuture(timer, func(workflow.Future) {})
			sel.AddReceive(added, func(workflow.ReceiveChannel, bool) { signalled = true })
			sel.Select(ctx)
			cancel()
			if signalled {
				continue // received at the top of the loop
			}
		}
		if err := w.round(ctx, what); err != nil {
			return w.snapshot(), err
		}
		rounds++
	}
}

type campaign struct {
	in     Input
	id     string
	def    act.Definition
	st     State
	status Status
}

func (w *campaign) snapshot() Status {
	s := w.status
	s.ID, s.Title, s.DueAt = w.id, w.st.Opened.Title, w.st.Opened.DueAt
	s.Counts, s.Reminders, s.Escalations = w.st.Counts, w.st.Reminders, w.st.Escalated
	return s
}

// open records the campaign and assigns everyone (one activity, one
// transaction); for new hires it then
// waits for their start date (late joiners are assigned meanwhile); then
// it sends the first messages. Reminders count from those.
func (w *campaign) open(ctx workflow.Context, added workflow.ReceiveChannel) error {
	rec := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	w.def.At = workflow.Now(ctx)
	if err := workflow.ExecuteActivity(rec, a.OpenCampaign, w.def).Get(ctx, &w.st.Opened); err != nil {
		return err
	}
	for wait := w.in.NotBefore.Sub(workflow.Now(ctx)); wait > 0; wait = w.in.NotBefore.Sub(workflow.Now(ctx)) {
		w.status.Stage = StageWaiting
		var people []string
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(timerCtx, wait), func(workflow.Future) {})
		sel.AddReceive(added, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &people) })
		sel.Select(ctx)
		cancel()
		if people != nil {
			w.def.People = append(w.def.People, people...)
			if err := w.assign(ctx); err != nil {
				return err
			}
		}
	}
	w.st.OpenedAt = workflow.Now(ctx)
	return w.notify(ctx)
}

// assign inserts whoever of the audience has no assignment yet.
func (w *campaign) assign(ctx workflow.Context) error {
	rec := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	def := w.def
	def.At = workflow.Now(ctx)
	return workflow.ExecuteActivity(rec, a.Assign, def).Get(ctx, nil)
}

// notify sends the first message to everyone pending not yet sent it.
func (w *campaign) notify(ctx workflow.Context) error {
	w.status.Stage = StageSending
	send := workflow.WithActivityOptions(ctx, sendOptions)
	in := act.NoticeInput{CampaignID: w.id, Purpose: act.PurposeAssigned, Controls: w.def.Controls, BatchSize: w.in.BatchSize, At: workflow.Now(ctx)}
	if err := workflow.ExecuteActivity(send, a.Notify, in).Get(ctx, nil); err != nil {
		return err
	}
	return w.refresh(ctx)
}

// addPeople takes late joiners of a cohort: assigned and told like the rest.
func (w *campaign) addPeople(ctx workflow.Context, people []string) error {
	w.def.People = append(w.def.People, people...)
	if err := w.assign(ctx); err != nil {
		return err
	}
	return w.notify(ctx)
}

// roundKind is what a round does besides closing leavers and counting.
type roundKind struct {
	remind   bool
	escalate bool
}

// nextRound is when the next round runs and what it does: the next
// reminder (every RemindEvery from the opening, before and after the due
// date), the next escalation step (the due date plus its After), or,
// with neither in the next day, a check.
func (w *campaign) nextRound() (time.Time, roundKind) {
	now := w.st.LastRound
	if now.Before(w.st.OpenedAt) {
		now = w.st.OpenedAt
	}
	next, kind := now.Add(idleCheck), roundKind{}
	if every := w.in.RemindEvery; every > 0 {
		r := w.st.OpenedAt.Add(time.Duration(w.st.Reminders+1) * every)
		if !r.After(next) {
			next, kind = r, roundKind{remind: true}
		}
	}
	if w.st.Escalated < len(w.in.Escalation) {
		e := w.st.Opened.DueAt.Add(w.in.Escalation[w.st.Escalated].After)
		switch {
		case e.Before(next):
			next, kind = e, roundKind{escalate: true}
		case e.Equal(next):
			kind.escalate = true
		}
	}
	return next, kind
}

// round closes leavers and counts; while anyone is pending it escalates
// or reminds as due, then counts again.
func (w *campaign) round(ctx workflow.Context, what roundKind) error {
	rec := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	send := workflow.WithActivityOptions(ctx, sendOptions)
	w.st.LastRound = workflow.Now(ctx)
	if err := workflow.ExecuteActivity(rec, a.CloseLeavers, act.CloseLeaversInput{CampaignID: w.id, Controls: w.def.Controls, At: w.st.LastRound}).Get(ctx, nil); err != nil {
		return err
	}
	if err := w.refresh(ctx); err != nil || w.st.Counts.Pending == 0 {
		return err
	}
	if what.escalate {
		step := w.in.Escalation[w.st.Escalated]
		in := act.EscalateInput{CampaignID: w.id, Step: w.st.Escalated + 1, To: step.To, After: step.After, Controls: w.def.Controls,
			At: w.st.LastRound}
		if err := workflow.ExecuteActivity(send, a.Escalate, in).Get(ctx, nil); err != nil {
			return err
		}
		w.st.Escalated++
	}
	if what.remind {
		in := act.NoticeInput{CampaignID: w.id, Purpose: act.PurposeReminder(w.st.Reminders + 1), Controls: w.def.Controls,
			BatchSize: w.in.BatchSize, At: w.st.LastRound}
		if err := workflow.ExecuteActivity(send, a.Notify, in).Get(ctx, nil); err != nil {
			return err
		}
		w.st.Reminders++
	}
	return w.refresh(ctx)
}

func (w *campaign) refresh(ctx workflow.Context) error {
	rec := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	return workflow.ExecuteActivity(rec, a.Counts, act.CountsInput{CampaignID: w.id, At: workflow.Now(ctx)}).Get(ctx, &w.st.Counts)
}

func (w *campaign) close(ctx workflow.Context) (Status, error) {
	rec := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	if err := workflow.ExecuteActivity(rec, a.CloseCampaign, act.CloseInput{CampaignID: w.id, Controls: w.def.Controls, Counts: w.st.Counts, At: workflow.Now(ctx)}).Get(ctx, nil); err != nil {
		return w.snapshot(), err
	}
	w.status.Stage, w.status.NextRound = StageClosed, time.Time{}
	// Signals only, no updates: nothing else can be in flight. Late
	// joiners signalled after the last round start the next cohort.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.snapshot(), err
	}
	return w.snapshot(), nil
}

func (w *campaign) continueAsNew(ctx workflow.Context) (Status, error) {
	next := w.in
	next.People = w.def.People
	st := w.st
	st.RunsBefore++
	next.State = &st
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.snapshot(), err
	}
	return w.snapshot(), workflow.NewContinueAsNewError(ctx, WorkflowName, next)
}
