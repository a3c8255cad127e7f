package humantask

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/workflows"
)

var htStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// taskHarness runs Workflow with time skipping and keeps what the workflow
// asked its activities to do, and when.
type taskHarness struct {
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment

	mu        sync.Mutex
	events    []htSeen // task events: Key
	notices   []htSeen // Key is purpose/channel/person
	completed []taskact.CompleteTaskInput
	slackDone int

	email, slack map[string]taskact.TaskNoticeResult // by person; default: sent
	resolve      map[string]taskact.ResolveEscalationResult
	left         map[string]bool   // people CompleteTask refuses, as the directory would
	closed       map[string]string // people whose completion CompleteTask refuses: Postgres holds another outcome
	// outage fails that many email attempts to a person with a retryable
	// error (the mail server down) before the email goes out.
	outage map[string]int
}

type htSeen struct {
	at     time.Duration // since htStart
	key    string
	detail map[string]any
}

func newTaskHarness(t *testing.T) *taskHarness {
	h := &taskHarness{
		email: map[string]taskact.TaskNoticeResult{}, slack: map[string]taskact.TaskNoticeResult{},
		resolve: map[string]taskact.ResolveEscalationResult{
			"@manager":              {PersonIDs: []string{"mia"}},
			"role:security_officer": {PersonIDs: []string{"sam"}},
		},
	}
	h.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := h.NewTestWorkflowEnvironment()
	h.env = env
	env.SetStartTime(htStart)
	env.RegisterWorkflow(Workflow)
	env.RegisterActivity(&taskact.Tasks{})
	env.RegisterActivity(&taskact.Notifier{})
	env.OnActivity(taskAct.CreateTask, mock.Anything, mock.Anything).Return(func(_ context.Context, in taskact.CreateTaskInput) error {
		h.add(&h.events, "created", nil)
		return nil
	})
	env.OnActivity(taskAct.RecordTaskEvent, mock.Anything, mock.Anything).Return(func(_ context.Context, in taskact.TaskEventInput) error {
		h.add(&h.events, in.Key, in.Detail)
		return nil
	})
	env.OnActivity(taskAct.ResolveEscalation, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in taskact.ResolveEscalationInput) (taskact.ResolveEscalationResult, error) {
			return h.resolve[in.To], nil
		})
	env.OnActivity(taskAct.CancelTask, mock.Anything, mock.Anything).Return(func(_ context.Context, in taskact.TaskClosedInput) error {
		h.add(&h.events, "cancelled", nil)
		return nil
	})
	env.OnActivity(taskAct.CompleteTask, mock.Anything, mock.Anything).Return(func(_ context.Context, in taskact.CompleteTaskInput) error {
		if h.left[in.By] {
			return temporal.NewNonRetryableApplicationError(in.By+" has left (end date 1 Mar 2026 in the directory) and may no longer act on tasks", "PersonLeft", nil)
		}
		if msg, ok := h.closed[in.By]; ok {
			return temporal.NewNonRetryableApplicationError(msg, taskact.TaskClosedType, nil)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.completed = append(h.completed, in)
		return nil
	})
	notice := func(channel string, results map[string]taskact.TaskNoticeResult) any {
		return func(_ context.Context, in taskact.TaskNoticeInput) (taskact.TaskNoticeResult, error) {
			if channel == "email" && h.failOnce(in.PersonID) {
				return taskact.TaskNoticeResult{}, errors.New("dial tcp 127.0.0.1:25: connection refused")
			}
			h.add(&h.notices, in.Purpose+"/"+channel+"/"+in.PersonID, map[string]any{"reason": in.Reason})
			if r, ok := results[in.PersonID]; ok {
				return r, nil
			}
			return taskact.TaskNoticeResult{Status: taskact.NoticeSent}, nil
		}
	}
	env.OnActivity(noticeAct.SendTaskEmail, mock.Anything, mock.Anything).Return(notice("email", h.email))
	env.OnActivity(noticeAct.SendTaskSlack, mock.Anything, mock.Anything).Return(notice("slack", h.slack))
	env.OnActivity(noticeAct.UpdateTaskSlack, mock.Anything, mock.Anything).Return(func(_ context.Context, in taskact.TaskClosedInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.slackDone++
		return nil
	})
	return h
}

func (h *taskHarness) add(to *[]htSeen, key string, detail map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	*to = append(*to, htSeen{at: h.env.Now().Sub(htStart), key: key, detail: detail})
}

// at lists "key@offset" for the entries whose key starts with prefix, by
// time and then key (messages to several channels go out concurrently).
func htAt(list []htSeen, prefix string) []string {
	list = slices.Clone(list)
	sort.SliceStable(list, func(i, j int) bool {
		return list[i].at < list[j].at || list[i].at == list[j].at && list[i].key < list[j].key
	})
	var out []string
	for _, s := range list {
		if strings.HasPrefix(s.key, prefix) {
			out = append(out, fmt.Sprintf("%s@%s", s.key, s.at))
		}
	}
	return out
}

// completeAt asks for a completion after d and reports the answer to got.
func (h *taskHarness) completeAt(d time.Duration, req CompleteRequest, got *[]string) {
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateComplete, fmt.Sprint("u", d, req.PersonID), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { *got = append(*got, fmt.Sprintf("%s rejected: %v", req.PersonID, err)) },
			OnComplete: func(_ any, err error) {
				if err == nil {
					*got = append(*got, req.PersonID+" completed")
				}
			},
		}, req)
	}, d)
}

// timedRequest is a completion sent at a time after the start.
type timedRequest struct {
	at  time.Duration
	req CompleteRequest
}

// completeAll sends each completion at its time; got collects what became of
// each, with the application error type and message of a refusal.
func (h *taskHarness) completeAll(reqs []timedRequest, got *[]string) {
	for _, c := range reqs {
		h.env.RegisterDelayedCallback(func() {
			h.env.UpdateWorkflow(UpdateComplete, "u-"+c.req.PersonID, &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { *got = append(*got, c.req.PersonID+" rejected: "+err.Error()) },
				OnComplete: func(_ any, err error) {
					var appErr *temporal.ApplicationError
					switch {
					case err == nil:
						*got = append(*got, c.req.PersonID+" completed")
					case errors.As(err, &appErr):
						*got = append(*got, c.req.PersonID+" refused: "+appErr.Type()+": "+appErr.Message())
					default:
						*got = append(*got, c.req.PersonID+" failed: "+err.Error())
					}
				},
			}, c.req)
		}, c.at)
	}
}

func (h *taskHarness) outcome(t *testing.T) Outcome {
	t.Helper()
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var out Outcome
	if err := h.env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// failOnce spends one failed attempt of person's outage, if any is left.
func (h *taskHarness) failOnce(person string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.outage[person] > 0 {
		h.outage[person]--
		return true
	}
	return false
}

func htInput() Input {
	return Input{
		TaskID: "task/test/1", AssigneeID: "ann", Subject: "Review access", Body: "Please review.",
		Due: htStart.Add(48 * time.Hour), Actions: []Action{ActionApprove, ActionReject}, ControlIDs: []string{"CC6.2"},
	}
}

func htEqual(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func TestHumanTaskRemindsOnCadence(t *testing.T) {
	h := newTaskHarness(t)
	in := htInput()
	in.RemindEvery = 24 * time.Hour
	var answers []string
	h.completeAt(80*time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "ann"}, &answers)
	h.env.ExecuteWorkflow(Workflow, in)

	out := h.outcome(t)
	if out.Action != ActionApprove || out.By != "ann" || !out.At.Equal(htStart.Add(80*time.Hour)) {
		t.Errorf("outcome %+v", out)
	}
	htEqual(t, "reminder events", htAt(h.events, "reminder/"), []string{"reminder/1@24h0m0s", "reminder/2@48h0m0s", "reminder/3@72h0m0s"})
	htEqual(t, "email notices", htAt(h.notices, ""), []string{
		"assigned/email/ann@0s", "assigned/slack/ann@0s",
		"reminder/1/email/ann@24h0m0s", "reminder/1/slack/ann@24h0m0s",
		"reminder/2/email/ann@48h0m0s", "reminder/2/slack/ann@48h0m0s",
		"reminder/3/email/ann@72h0m0s", "reminder/3/slack/ann@72h0m0s",
	})
	if len(h.completed) != 1 || h.completed[0].By != "ann" || h.slackDone != 1 {
		t.Errorf("completion recorded %+v, Slack updated %d times", h.completed, h.slackDone)
	}
}

func TestHumanTaskEscalatesToManagerThenOfficer(t *testing.T) {
	h := newTaskHarness(t)
	in := htInput()
	// Given out of order on purpose: steps run by their After.
	in.Escalation = []workflows.EscalationStep{{After: 72 * time.Hour, To: "role:security_officer"}, {After: 0, To: workflows.EscalateToManager}}
	var answers []string
	h.completeAt(47*time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "mia"}, &answers)  // not yet escalated
	h.completeAt(100*time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "sam"}, &answers) // manager reached, officer not yet
	h.completeAt(121*time.Hour, CompleteRequest{Action: ActionReject, PersonID: "sam", Note: "no evidence attached"}, &answers)
	var entitledAt100 []string
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err != nil {
			t.Error(err)
			return
		}
		var st Status
		v.Get(&st)
		entitledAt100 = st.Entitled
	}, 100*time.Hour)
	h.env.ExecuteWorkflow(Workflow, in)

	out := h.outcome(t)
	if out.Action != ActionReject || out.By != "sam" || out.Note != "no evidence attached" {
		t.Errorf("outcome %+v", out)
	}
	htEqual(t, "escalation events", htAt(h.events, "escalated/"), []string{"escalated/1@48h0m0s", "escalated/2@120h0m0s"})
	htEqual(t, "escalation notices", htAt(h.notices, "escalated/"), []string{
		"escalated/1/email/mia@48h0m0s", "escalated/1/slack/mia@48h0m0s",
		"escalated/2/email/sam@120h0m0s", "escalated/2/slack/sam@120h0m0s",
	})
	htEqual(t, "entitled after the manager step", entitledAt100, []string{"ann", "mia"})
	if len(answers) != 3 || !strings.HasPrefix(answers[0], "mia rejected") || !strings.HasPrefix(answers[1], "sam rejected") || answers[2] != "sam completed" {
		t.Errorf("answers: %q", answers)
	}
}

func TestHumanTaskValidatorRejects(t *testing.T) {
	h := newTaskHarness(t)
	in := htInput()
	var answers []string
	h.completeAt(time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "mallory"}, &answers)
	h.completeAt(2*time.Hour, CompleteRequest{Action: ActionDone, PersonID: "ann"}, &answers)
	h.completeAt(3*time.Hour, CompleteRequest{Action: ActionReject, PersonID: "ann", Note: "  "}, &answers)
	h.completeAt(4*time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "ann"}, &answers)
	h.env.ExecuteWorkflow(Workflow, in)

	out := h.outcome(t)
	if out.By != "ann" || out.Action != ActionApprove {
		t.Errorf("outcome %+v", out)
	}
	want := []string{"mallory rejected", "ann rejected: action \"done\" is not offered", "ann rejected: reject needs a note", "ann completed"}
	if len(answers) != len(want) {
		t.Fatalf("answers %q", answers)
	}
	for i := range want {
		if !strings.HasPrefix(answers[i], want[i]) {
			t.Errorf("answer %d: %q, want prefix %q", i, answers[i], want[i])
		}
	}
}

func TestHumanTaskSecondCompletionRejected(t *testing.T) {
	h := newTaskHarness(t)
	in := htInput()
	in.Escalation = []workflows.EscalationStep{{After: 0, To: workflows.EscalateToManager}}
	var answers []string
	h.env.RegisterDelayedCallback(func() {
		for _, p := range []string{"mia", "ann"} {
			h.env.UpdateWorkflow(UpdateComplete, "u-"+p, &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { answers = append(answers, p+" rejected: "+err.Error()) },
				OnComplete: func(_ any, err error) {
					if err == nil {
						answers = append(answers, p+" completed")
					}
				},
			}, CompleteRequest{Action: ActionApprove, PersonID: p})
		}
	}, 50*time.Hour)
	h.env.ExecuteWorkflow(Workflow, in)

	out := h.outcome(t)
	if out.By != "mia" {
		t.Errorf("outcome %+v", out)
	}
	slices.Sort(answers)
	if len(answers) != 2 || !strings.HasPrefix(answers[0], "ann rejected") || answers[1] != "mia completed" {
		t.Errorf("answers %q", answers)
	}
	if len(h.completed) != 1 {
		t.Errorf("completion recorded %d times", len(h.completed))
	}

	// Once the outcome is set, the validator names who did it and when.
	done := &humanTask{in: in, outcome: &out, st: State{Entitled: []string{"ann", "mia"}}}
	err := done.validate(CompleteRequest{Action: ActionApprove, PersonID: "ann"})
	if err == nil || !strings.Contains(err.Error(), "already completed: approve by mia") {
		t.Errorf("validator after completion: %v", err)
	}
}

func TestHumanTaskEmailRefusedFallsBackToSlack(t *testing.T) {
	h := newTaskHarness(t)
	h.email["ann"] = taskact.TaskNoticeResult{Status: taskact.NoticeFailed, Reason: "550 mailbox unavailable"}
	in := htInput()
	in.RemindEvery = 24 * time.Hour
	in.Escalation = []workflows.EscalationStep{{After: 0, To: workflows.EscalateToManager}}
	var answers []string
	h.completeAt(30*time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "ann"}, &answers)
	h.env.ExecuteWorkflow(Workflow, in)

	h.outcome(t)
	htEqual(t, "notices", htAt(h.notices, ""), []string{
		"assigned/email/ann@0s", "assigned/slack/ann@0s",
		"reminder/1/slack/ann@24h0m0s", // the refused address is not tried again
	})
	htEqual(t, "no escalation: Slack reached ann", htAt(h.events, "escalated/"), nil)
	htEqual(t, "not unreachable", htAt(h.events, "unreachable/"), nil)
}

func TestHumanTaskUnreachableEscalatesAtOnce(t *testing.T) {
	h := newTaskHarness(t)
	h.email["ann"] = taskact.TaskNoticeResult{Status: taskact.NoticeFailed, Reason: "550 no such user"}
	h.slack["ann"] = taskact.TaskNoticeResult{Status: taskact.NoticeUnavailable, Reason: "no Slack user ID"}
	in := htInput()
	in.Escalation = []workflows.EscalationStep{{After: 0, To: workflows.EscalateToManager}, {After: 72 * time.Hour, To: "role:security_officer"}}
	var answers []string
	h.completeAt(time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "mia"}, &answers)
	h.env.ExecuteWorkflow(Workflow, in)

	if out := h.outcome(t); out.By != "mia" {
		t.Errorf("outcome %+v", out)
	}
	htEqual(t, "events", htAt(h.events, ""), []string{"created@0s", "escalated/1@0s", "unreachable/0@0s"})
	reasons := fmt.Sprint(h.events[1].detail["reasons"])
	if !strings.Contains(reasons, "550 no such user") || !strings.Contains(reasons, "no Slack user ID") {
		t.Errorf("unreachable event does not say why: %v", h.events[1].detail)
	}
	if got := h.events[2].detail["because"]; got != "nobody entitled could be reached" {
		t.Errorf("escalation reason %v", got)
	}
	// The manager's message says why it came before the due time.
	for _, n := range h.notices {
		if n.key == "escalated/1/email/mia" && !strings.Contains(fmt.Sprint(n.detail["reason"]), "550 no such user") {
			t.Errorf("escalation notice to mia gives reason %q; want why ann could not be reached", n.detail["reason"])
		}
	}
}

func TestHumanTaskBadInput(t *testing.T) {
	h := newTaskHarness(t)
	in := htInput()
	in.Actions = []Action{"shrug"}
	h.env.ExecuteWorkflow(Workflow, in)
	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), `"shrug"`) {
		t.Fatalf("want a non-retryable error naming the action, got %v", err)
	}
}

func TestHumanTaskContinuesAsNewWithItsState(t *testing.T) {
	h := newTaskHarness(t)
	h.email["ann"] = taskact.TaskNoticeResult{Status: taskact.NoticeFailed, Reason: "550"}
	in := htInput()
	in.RemindEvery = 24 * time.Hour
	in.Escalation = []workflows.EscalationStep{{After: 0, To: workflows.EscalateToManager}, {After: 72 * time.Hour, To: "role:security_officer"}}
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 50*time.Hour)
	h.env.ExecuteWorkflow(Workflow, in)

	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if st == nil || !st.Started.Equal(htStart) || st.Reminders != 3 || st.Escalated != 1 ||
		!slices.Equal(st.Entitled, []string{"ann", "mia"}) || !slices.Equal(st.DeadChannels, []string{"ann/email"}) {
		t.Fatalf("carried state %+v", st)
	}

	// The flag is read when the workflow next wakes (reminder 3, at 72h). The
	// next run picks up there: no second "created" or "assigned", reminders 4
	// and 5, the officer at 120h, and mia still entitled.
	h2 := newTaskHarness(t)
	h2.env.SetStartTime(htStart.Add(72 * time.Hour))
	var answers []string
	h2.completeAt(49*time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "mia"}, &answers) // at 121h
	h2.env.ExecuteWorkflow(Workflow, next)
	if out := h2.outcome(t); out.By != "mia" {
		t.Errorf("outcome %+v", out)
	}
	htEqual(t, "events after continue-as-new (offsets from the first run's start)", htAt(h2.events, ""), []string{
		"reminder/4@96h0m0s", "escalated/2@120h0m0s", "reminder/5@120h0m0s",
	})
	for _, n := range htAt(h2.notices, "") {
		if strings.Contains(n, "/email/ann") || strings.HasPrefix(n, "assigned/") {
			t.Errorf("after continue-as-new: %s", n)
		}
	}
}

func TestHumanTaskCancelledByParentIsRecorded(t *testing.T) {
	h := newTaskHarness(t)
	in := htInput()
	in.RemindEvery = 24 * time.Hour
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 30*time.Hour)
	h.env.ExecuteWorkflow(Workflow, in)
	if err := h.env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Fatalf("want cancelled, got %v", err)
	}
	htEqual(t, "events", htAt(h.events, ""), []string{"created@0s", "reminder/1@24h0m0s", "cancelled@30h0m0s"})
}

func TestHumanTaskLeaverCannotComplete(t *testing.T) {
	h := newTaskHarness(t)
	h.left = map[string]bool{"ann": true}
	in := htInput()
	in.Escalation = []workflows.EscalationStep{{After: 0, To: workflows.EscalateToManager}}
	var answers []string
	h.completeAll([]timedRequest{
		{time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "ann"}},
		{50 * time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "mia"}},
	}, &answers)
	h.env.ExecuteWorkflow(Workflow, in)

	out := h.outcome(t)
	htEqual(t, "answers", answers, []string{
		"ann refused: PersonLeft: ann has left (end date 1 Mar 2026 in the directory) and may no longer act on tasks",
		"mia completed",
	})
	if out.By != "mia" || len(h.completed) != 1 {
		t.Errorf("outcome %+v, completions %+v", out, h.completed)
	}
}

// An SMTP outage is retried for as long as the task is open: the assignee is
// told once the server is back, nothing is recorded unreachable, and nothing
// escalates before the due time. 9 failed attempts: the old limit was 8, and
// the test environment caps "unlimited" retries at 10.
func TestHumanTaskSMTPOutageNeitherEscalatesNorLosesTheAssignment(t *testing.T) {
	h := newTaskHarness(t)
	h.outage = map[string]int{"ann": 9}
	h.slack["ann"] = taskact.TaskNoticeResult{Status: taskact.NoticeUnavailable, Reason: "no Slack user ID"}
	in := htInput()
	in.Escalation = []workflows.EscalationStep{{After: 0, To: workflows.EscalateToManager}}
	var answers []string
	h.completeAt(40*time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "ann"}, &answers)
	h.env.ExecuteWorkflow(Workflow, in)

	if out := h.outcome(t); out.By != "ann" {
		t.Errorf("outcome %+v", out)
	}
	htEqual(t, "no unreachable", htAt(h.events, "unreachable/"), nil)
	htEqual(t, "no escalation before the due time", htAt(h.events, "escalated/"), nil)
	var told []string
	for _, n := range h.notices {
		if n.key == "assigned/email/ann" {
			told = append(told, n.key)
			if n.at < 30*time.Minute || n.at > 40*time.Hour {
				t.Errorf("assignment email sent at %v: want after the outage's retries, before completion", n.at)
			}
		}
	}
	if len(told) != 1 {
		t.Errorf("assignment emails to ann: %v; want exactly one once the server is back", told)
	}
}

// A completion Postgres refuses (the task was closed there already) is
// refused to the person as it is, not admitted, and not offered as a retry.
func TestHumanTaskClosedInPostgresIsNotAdmitted(t *testing.T) {
	h := newTaskHarness(t)
	h.closed = map[string]string{"ann": "task task/1 was already completed: approve by sam at 2026-03-01T09:00:00Z"}
	in := htInput()
	in.Escalation = []workflows.EscalationStep{{After: 0, To: workflows.EscalateToManager}}
	var answers []string
	h.completeAll([]timedRequest{
		{time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "ann"}},
		{50 * time.Hour, CompleteRequest{Action: ActionApprove, PersonID: "mia"}},
	}, &answers)
	h.env.ExecuteWorkflow(Workflow, in)

	out := h.outcome(t)
	htEqual(t, "answers", answers, []string{
		"ann refused: TaskClosed: task task/1 was already completed: approve by sam at 2026-03-01T09:00:00Z",
		"mia completed",
	})
	if out.By != "mia" || len(h.completed) != 1 {
		t.Errorf("outcome %+v, completions %+v", out, h.completed)
	}
}
