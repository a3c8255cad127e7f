package humantask

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
)

// State is what a HumanTask carries across continue-as-new.
type State struct {
	Started   time.Time
	Reminders int
	Escalated int      // escalation steps reached
	Entitled  []string // the assignee, then everyone escalated to, in order
	// EscalateNow is set when nobody entitled could be told about the task:
	// the next escalation step runs at once instead of at its time.
	// Unreachable says why, for the message of that escalation.
	EscalateNow bool
	Unreachable string `json:",omitempty"`
	// DeadChannels are "person/channel" pairs whose recipient was refused for
	// good (SMTP 5xx to RCPT, unknown Slack user); later messages use the
	// person's other channel.
	DeadChannels []string
}

// Workflow hands one piece of work to a person: it records the task, tells
// the assignee by email and Slack, reminds on a cadence, escalates after the
// due time, and returns the outcome once someone entitled completes it.
func Workflow(ctx workflow.Context, in Input) (Outcome, error) {
	t, err := newHumanTask(ctx, in)
	if err != nil {
		return Outcome{}, err
	}
	out, err := t.run(ctx)
	if temporal.IsCanceledError(err) {
		t.cancelled(ctx)
	}
	return out, err
}

// cancelled records that the parent gave the task up, so Postgres does not
// show as open a task nobody will finish.
func (t *humanTask) cancelled(ctx workflow.Context) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, completeOptions), taskAct.CancelTask,
		taskact.TaskClosedInput{TaskID: t.in.TaskID}).Get(dctx, nil)
	if err != nil {
		t.logger.Error("cancelled task not recorded", "task", t.in.TaskID, "err", err)
	}
}

type humanTask struct {
	in         Input
	steps      []workflows.EscalationStep // sorted by After
	st         State
	completing bool
	outcome    *Outcome
	logger     log.Logger
	// reassigns are SignalReassign requests not yet handled.
	reassigns []ReassignRequest
}

var (
	taskAct   *taskact.Tasks
	noticeAct *taskact.Notifier
)

func newHumanTask(ctx workflow.Context, in Input) (*humanTask, error) {
	if err := validateTaskInput(in); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), refusal.Type, nil)
	}
	t := &humanTask{in: in, logger: workflow.GetLogger(ctx)}
	t.steps = slices.Clone(in.Escalation)
	sort.SliceStable(t.steps, func(i, j int) bool { return t.steps[i].After < t.steps[j].After })
	if in.State != nil {
		t.st = *in.State
	}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, t.status); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateComplete, t.complete,
		workflow.UpdateHandlerOptions{Validator: t.validate}); err != nil {
		return nil, err
	}
	reassign := workflow.GetSignalChannel(ctx, SignalReassign)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var r ReassignRequest
			if !reassign.Receive(gctx, &r) {
				return
			}
			t.reassigns = append(t.reassigns, r)
		}
	})
	return t, nil
}

func validateTaskInput(in Input) error {
	var problems []string
	if in.TaskID == "" {
		problems = append(problems, "TaskID is empty")
	}
	if in.AssigneeID == "" {
		problems = append(problems, "AssigneeID is empty")
	}
	if in.Subject == "" {
		problems = append(problems, "Subject is empty")
	}
	if in.Due.IsZero() {
		problems = append(problems, "Due is not set")
	}
	if in.RemindEvery < 0 {
		problems = append(problems, "RemindEvery is negative")
	}
	if len(in.Actions) == 0 {
		problems = append(problems, "Actions is empty")
	}
	for _, a := range in.Actions {
		if !slices.Contains(Actions, a) {
			problems = append(problems, fmt.Sprintf("action %q is not one of %v", a, Actions))
		}
	}
	if err := in.Form.Check(); err != nil {
		problems = append(problems, err.Error())
	}
	for i, s := range in.Escalation {
		if s.To == "" || s.To == "role:" {
			problems = append(problems, fmt.Sprintf("Escalation[%d].To is empty", i))
		}
		if s.After < 0 {
			problems = append(problems, fmt.Sprintf("Escalation[%d].After is negative", i))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("human task %s: %s", in.TaskID, strings.Join(problems, "; "))
	}
	return nil
}

func (t *humanTask) run(ctx workflow.Context) (Outcome, error) {
	if t.in.State == nil {
		if err := t.start(ctx); err != nil {
			return Outcome{}, err
		}
	}
	done := func() bool { return t.outcome != nil }
	wake := func() bool { return done() || len(t.reassigns) > 0 }
	for !done() {
		if err := t.reassign(ctx); err != nil {
			return Outcome{}, err
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return Outcome{}, err
			}
			if !done() {
				in := t.in
				st := t.st
				in.State = &st
				return Outcome{}, workflow.NewContinueAsNewError(ctx, Workflow, in)
			}
			break
		}
		if at, ok := t.nextWake(); !ok {
			if err := workflow.Await(ctx, wake); err != nil {
				return Outcome{}, err
			}
		} else if d := at.Sub(workflow.Now(ctx)); d > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, d, wake); err != nil {
				return Outcome{}, err
			}
		}
		if done() {
			break
		}
		if len(t.reassigns) > 0 {
			continue // handled at the top of the loop; the timer is set again
		}
		if err := t.onTime(ctx); err != nil {
			return Outcome{}, err
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return Outcome{}, err
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, closingNoticeOptions), noticeAct.UpdateTaskSlack,
		taskact.TaskClosedInput{TaskID: t.in.TaskID}).Get(ctx, nil)
	if err != nil {
		t.logger.Warn("Slack messages not updated after completion", "task", t.in.TaskID, "err", err)
	}
	return *t.outcome, nil
}

// start records the task and tells the assignee; nobody to tell escalates at once.
func (t *humanTask) start(ctx workflow.Context) error {
	t.st = State{Started: workflow.Now(ctx), Entitled: []string{t.in.AssigneeID}}
	actions := make([]string, len(t.in.Actions))
	for i, a := range t.in.Actions {
		actions[i] = string(a)
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), taskAct.CreateTask, taskact.CreateTaskInput{
		TaskID: t.in.TaskID, AssigneeID: t.in.AssigneeID, Subject: t.in.Subject, Body: t.in.Body, Due: t.in.Due,
		Actions: actions, ControlIDs: t.in.ControlIDs, ParentRef: t.in.ParentRef, Form: formJSON(t.in.Form),
	}).Get(ctx, nil)
	if err != nil {
		return err
	}
	reached, reasons := t.notify(ctx, []string{t.in.AssigneeID}, "assigned")
	if !reached {
		return t.unreachable(ctx, reasons)
	}
	return nil
}

// nextWake is the earlier of the next reminder and the next escalation.
func (t *humanTask) nextWake() (time.Time, bool) {
	var next time.Time
	if t.in.RemindEvery > 0 {
		next = t.reminderAt()
	}
	if t.st.Escalated < len(t.steps) {
		if t.st.EscalateNow {
			return time.Time{}, true // the zero time has passed: at once
		}
		esc := t.escalationAt()
		if next.IsZero() || esc.Before(next) {
			next = esc
		}
	}
	return next, !next.IsZero()
}

// reminderAt is when the next reminder is due (RemindEvery > 0).
func (t *humanTask) reminderAt() time.Time {
	return t.st.Started.Add(time.Duration(t.st.Reminders+1) * t.in.RemindEvery)
}

// escalationAt is when the next escalation step is due (one is left).
func (t *humanTask) escalationAt() time.Time { return t.in.Due.Add(t.steps[t.st.Escalated].After) }

// onTime does whatever has come due: an escalation, then a reminder.
func (t *humanTask) onTime(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	if t.st.Escalated < len(t.steps) && (t.st.EscalateNow || !now.Before(t.escalationAt())) {
		if err := t.escalate(ctx); err != nil {
			return err
		}
	}
	if t.in.RemindEvery > 0 && !now.Before(t.reminderAt()) {
		// After an outage, send one reminder, not one per missed interval.
		t.st.Reminders = int(now.Sub(t.st.Started) / t.in.RemindEvery)
		purpose := fmt.Sprintf("reminder/%d", t.st.Reminders)
		if err := t.record(ctx, purpose, "reminder", map[string]any{"to": t.st.Entitled, "overdue": now.After(t.in.Due)}); err != nil {
			return err
		}
		t.notify(ctx, t.st.Entitled, purpose)
	}
	return nil
}

func (t *humanTask) escalate(ctx workflow.Context) error {
	step := t.steps[t.st.Escalated]
	t.st.Escalated++
	why, notice := "overdue", ""
	if t.st.EscalateNow {
		why = "nobody entitled could be reached"
		notice = t.st.Unreachable
	}
	t.st.EscalateNow, t.st.Unreachable = false, ""
	var res taskact.ResolveEscalationResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), taskAct.ResolveEscalation,
		taskact.ResolveEscalationInput{AssigneeID: t.in.AssigneeID, To: step.To, Except: step.Except}).Get(ctx, &res)
	if err != nil {
		return err
	}
	var added []string
	for _, p := range res.PersonIDs {
		if !slices.Contains(t.st.Entitled, p) {
			added = append(added, p)
		}
	}
	t.st.Entitled = append(t.st.Entitled, added...)
	purpose := fmt.Sprintf("escalated/%d", t.st.Escalated)
	detail := map[string]any{"to": step.To, "people": res.PersonIDs, "because": why}
	if res.Reason != "" {
		detail["reason"] = res.Reason
	}
	if err := t.record(ctx, purpose, "escalated", detail); err != nil {
		return err
	}
	if len(res.PersonIDs) > 0 && len(added) == 0 {
		return nil // everyone this step names already has the task
	}
	reached, reasons := t.notifyWhy(ctx, added, purpose, notice)
	if res.Reason != "" {
		reasons = append(reasons, res.Reason)
	}
	if !reached {
		return t.unreachable(ctx, reasons)
	}
	return nil
}

// reassign hands the task to each person a SignalReassign named who does not
// have it yet: entitled from now on, recorded, and told.
func (t *humanTask) reassign(ctx workflow.Context) error {
	for len(t.reassigns) > 0 {
		r := t.reassigns[0]
		t.reassigns = t.reassigns[1:]
		if r.To == "" || slices.Contains(t.st.Entitled, r.To) {
			continue
		}
		t.st.Entitled = append(t.st.Entitled, r.To)
		purpose := "reassigned/" + r.To
		if err := t.record(ctx, purpose, "reassigned", map[string]any{"to": r.To, "reason": r.Reason, "by": r.By}); err != nil {
			return err
		}
		t.notifyWhy(ctx, []string{r.To}, purpose, r.Reason)
	}
	return nil
}

// unreachable records that nobody could be told and why, and moves the
// escalation on at once when a step is left.
func (t *humanTask) unreachable(ctx workflow.Context, reasons []string) error {
	next := "no escalation step is left; the task stays open for the officers (starter tasks)"
	if t.st.Escalated < len(t.steps) {
		t.st.EscalateNow = true
		t.st.Unreachable = strings.Join(reasons, "; ")
		next = "escalating at once to " + t.steps[t.st.Escalated].To
	}
	return t.record(ctx, fmt.Sprintf("unreachable/%d", t.st.Escalated), "unreachable",
		map[string]any{"reasons": reasons, "next": next})
}

// notify sends the purpose's message to each person on every channel not yet
// refused for them, and reports whether anyone was told at all.
func (t *humanTask) notify(ctx workflow.Context, people []string, purpose string) (bool, []string) {
	return t.notifyWhy(ctx, people, purpose, "")
}

// notifyWhy is notify with the reason an escalation message gives (empty:
// the task is overdue). A temporary failure (an SMTP 4xx, a network error, a
// Slack outage) is retried for as long as the task is open, so it never
// counts as unreachable; the wait ends once anyone was told, once every send
// has answered, or once the task is completed. Only a permanent refusal
// (5xx to RCPT, an unknown Slack user) or no address at all leaves a person
// unreached, and moves on to the other channel and then the escalation.
// Sends still retrying when the wait ends go on; their refusals are kept.
func (t *humanTask) notifyWhy(ctx workflow.Context, people []string, purpose, reason string) (bool, []string) {
	var reasons []string
	reached, pending := false, 0
	actx := workflow.WithActivityOptions(ctx, noticeOptions)
	for _, p := range people {
		for _, ch := range []string{notify.ChannelEmail, notify.ChannelSlack} {
			if slices.Contains(t.st.DeadChannels, p+"/"+ch) {
				reasons = append(reasons, fmt.Sprintf("%s: %s refused earlier", p, ch))
				continue
			}
			fn := noticeAct.SendTaskEmail
			if ch == notify.ChannelSlack {
				fn = noticeAct.SendTaskSlack
			}
			f := workflow.ExecuteActivity(actx, fn, taskact.TaskNoticeInput{TaskID: t.in.TaskID, PersonID: p, Purpose: purpose, Reason: reason})
			pending++
			person, channel := p, ch
			workflow.Go(ctx, func(gctx workflow.Context) {
				defer func() { pending-- }()
				var res taskact.TaskNoticeResult
				if err := f.Get(gctx, &res); err != nil {
					reasons = append(reasons, fmt.Sprintf("%s: %s failed: %v", person, channel, err))
					return
				}
				switch res.Status {
				case taskact.NoticeSent:
					reached = true
				case taskact.NoticeFailed:
					t.st.DeadChannels = append(t.st.DeadChannels, person+"/"+channel)
					reasons = append(reasons, fmt.Sprintf("%s: %s refused: %s", person, channel, res.Reason))
				default:
					reasons = append(reasons, fmt.Sprintf("%s: %s: %s", person, channel, res.Reason))
				}
			})
		}
	}
	if err := workflow.Await(ctx, func() bool { return reached || pending == 0 || t.outcome != nil }); err != nil {
		return false, append(reasons, err.Error())
	}
	return reached || t.outcome != nil, slices.Clone(reasons)
}

func (t *humanTask) record(ctx workflow.Context, key, kind string, detail map[string]any) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), taskAct.RecordTaskEvent,
		taskact.TaskEventInput{TaskID: t.in.TaskID, Key: key, Kind: kind, Detail: detail}).Get(ctx, nil)
}

// validate admits only an allowed action, only from someone entitled, only
// once, and with the form filled as it asks (or no values when it asks none).
func (t *humanTask) validate(req CompleteRequest) error {
	switch {
	case t.outcome != nil:
		return fmt.Errorf("task %s was already completed: %s by %s at %s", t.in.TaskID, t.outcome.Action, t.outcome.By, t.outcome.At.UTC().Format(time.RFC3339))
	case t.completing:
		return fmt.Errorf("task %s is being completed by someone else", t.in.TaskID)
	case !slices.Contains(t.in.Actions, req.Action):
		return fmt.Errorf("action %q is not offered by this task (offered: %v)", req.Action, t.in.Actions)
	case req.Action.NeedsNote() && strings.TrimSpace(req.Note) == "":
		return fmt.Errorf("%s needs a note saying why", req.Action)
	case !slices.Contains(t.st.Entitled, req.PersonID):
		return fmt.Errorf("%q may not act on task %s: only %s may", req.PersonID, t.in.TaskID, strings.Join(t.st.Entitled, ", "))
	}
	return t.validateValues(req)
}

func (t *humanTask) validateValues(req CompleteRequest) error {
	filled := len(req.Values.Fields) > 0 || len(req.Values.Lists) > 0
	switch {
	case t.in.Form.Applies(req.Action):
		if err := t.in.Form.Validate(req.Values); err != nil {
			return fmt.Errorf("the form is not filled in as it must be: %w", err)
		}
	case filled:
		return fmt.Errorf("%s takes no form values", req.Action)
	}
	return nil
}

// complete records the outcome before admitting it, so when the update
// returns, Postgres already shows the task as done.
func (t *humanTask) complete(ctx workflow.Context, req CompleteRequest) (Outcome, error) {
	if err := t.validate(req); err != nil {
		return Outcome{}, err
	}
	t.completing = true
	out := Outcome{TaskID: t.in.TaskID, Action: req.Action, By: req.PersonID, At: workflow.Now(ctx), Note: strings.TrimSpace(req.Note),
		Values: req.Values}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, completeOptions), taskAct.CompleteTask, taskact.CompleteTaskInput{
		TaskID: out.TaskID, Action: string(out.Action), By: out.By, ActedBy: req.ActedBy, At: out.At, Note: out.Note, Values: valuesJSON(t.in.Form, out.Values),
	}).Get(ctx, nil)
	t.completing = false
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && (appErr.Type() == "PersonLeft" || appErr.Type() == taskact.TaskClosedType) {
		// Postgres holds another outcome (or a cancellation): refuse this one
		// rather than admit what was not recorded.
		return Outcome{}, temporal.NewNonRetryableApplicationError(appErr.Message(), appErr.Type(), nil)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("the outcome could not be recorded, try again: %w", err)
	}
	t.outcome = &out
	return out, nil
}

// formJSON is the form as the task's record keeps it; nil without one.
func formJSON(f *Form) json.RawMessage {
	if f == nil {
		return nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		panic(err) // strings, numbers and slices always marshal
	}
	return b
}

// valuesJSON is the values as the outcome's record keeps them; nil for a
// task without a form.
func valuesJSON(f *Form, v Values) json.RawMessage {
	if f == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

func (t *humanTask) status() (Status, error) {
	return Status{
		TaskID: t.in.TaskID, AssigneeID: t.in.AssigneeID, Due: t.in.Due,
		Entitled: slices.Clone(t.st.Entitled), Reminders: t.st.Reminders, Escalated: t.st.Escalated,
		Outcome: t.outcome,
	}, nil
}

var (
	// A message is retried, every 15 minutes at most, for as long as the
	// task is open: an outage of the mail server or of Slack is not the
	// recipient's fault and must not escalate the task (issue: an 8-attempt
	// limit made a 30-minute SMTP outage escalate at once). A permanent
	// refusal is an answer (NoticeFailed), not an error, so it is not retried.
	noticeOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 15 * time.Minute,
			NonRetryableErrorTypes: []string{refusal.Type, "UnknownPerson"}},
	}
	// Rewriting the Slack message after completion is a courtesy: the parent
	// is waiting for the outcome, so give up within about a minute.
	closingNoticeOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	}
	// A person is waiting on the completion page: fail within about a minute.
	completeOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
	}
)
