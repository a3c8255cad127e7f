package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/activities"
)

var (
	policyAct   *activities.Policies
	announceAct *activities.Announcer
)

// announceOptions: a batch of emails takes a while and heartbeats per person,
// so a stuck SMTP server is noticed in minutes, not at the batch's deadline.
// The version is published before it is announced, so nothing but bad input
// gives up: an outage or a mail misconfiguration (DeliveryMisconfigured,
// retryable from the announcement activities) is tried again every 15
// minutes at most, for as long as it lasts, and the announcement goes out
// once the configuration is fixed and the worker restarted.
var announceOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Minute,
	HeartbeatTimeout:    2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 15 * time.Minute,
		NonRetryableErrorTypes: []string{"BadInput", "UnknownPerson"}},
}

// Defaults for the tasks of the policy processes when the input gives none.
const (
	defaultPolicyTaskDue    = 7 * 24 * time.Hour
	defaultPolicyTaskRemind = 2 * 24 * time.Hour
	announceBatchSize       = 200
)

// policyTask is one human task a policy process hands out.
type policyTask struct {
	purpose    string // unique within the parent; part of the task's workflow ID
	assignee   string
	subject    string
	body       string
	actions    []Action
	escalation []EscalationStep
	control    string
	due        time.Duration
	remind     time.Duration
}

// start runs the task as a HumanTask child, by name, with its deterministic ID.
func (t policyTask) start(ctx workflow.Context) (string, workflow.ChildWorkflowFuture) {
	parent := workflow.GetInfo(ctx).WorkflowExecution.ID
	id := HumanTaskID(parent, t.purpose)
	due, remind := t.due, t.remind
	if due <= 0 {
		due = defaultPolicyTaskDue
	}
	if remind <= 0 {
		remind = defaultPolicyTaskRemind
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id})
	return id, workflow.ExecuteChildWorkflow(cctx, HumanTaskWorkflow, HumanTaskInput{
		TaskID: id, AssigneeID: t.assignee, Subject: t.subject, Body: t.body,
		Due: workflow.Now(ctx).Add(due), RemindEvery: remind, Escalation: t.escalation,
		Actions: t.actions, ControlID: t.control, ParentRef: parent,
	})
}

// run starts the task and waits for its outcome.
func (t policyTask) run(ctx workflow.Context) (TaskOutcome, error) {
	id, f := t.start(ctx)
	var out TaskOutcome
	if err := f.Get(ctx, &out); err != nil {
		return TaskOutcome{}, fmt.Errorf("task %s: %w", id, err)
	}
	out.TaskID = id
	return out, nil
}

func firstOr(ids []string, fallback string) string {
	if len(ids) > 0 {
		return ids[0]
	}
	return fallback
}

// slackAnnounceOptions: the channel post is retried for about an hour and
// then recorded as failed; an outage must not hold up the email or the run.
var slackAnnounceOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 15 * time.Minute,
		MaximumAttempts: 10, NonRetryableErrorTypes: []string{"BadInput"}},
}

// announce posts the change to the channel and emails everyone in batches,
// both at once; it answers what became of the post and how many people were
// emailed. Runs from before "announce-concurrently" posted first, retrying
// the post for as long as it took, and email only then.
func announce(ctx workflow.Context, in activities.AnnouncementInput) (activities.AnnounceResult, int, error) {
	if workflow.GetVersion(ctx, "announce-concurrently", workflow.DefaultVersion, 1) == 1 {
		return announceConcurrently(ctx, in)
	}
	actx := workflow.WithActivityOptions(ctx, announceOptions)
	var slackRes activities.AnnounceResult
	if err := workflow.ExecuteActivity(actx, announceAct.AnnounceSlack, in).Get(ctx, &slackRes); err != nil {
		return slackRes, 0, err
	}
	if slackRes.Status != activities.StatusSent {
		workflow.GetLogger(ctx).Warn("policy announcement not posted to Slack", "status", slackRes.Status, "reason", slackRes.Reason)
	}
	sent, err := announceEmail(ctx, in)
	return slackRes, sent, err
}

func announceConcurrently(ctx workflow.Context, in activities.AnnouncementInput) (activities.AnnounceResult, int, error) {
	post := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, slackAnnounceOptions), announceAct.AnnounceSlack, in)
	sent, err := announceEmail(ctx, in)
	var slackRes activities.AnnounceResult
	if perr := post.Get(ctx, &slackRes); perr != nil {
		slackRes = activities.AnnounceResult{Status: activities.StatusFailed, Reason: perr.Error()}
	}
	if slackRes.Status != activities.StatusSent {
		workflow.GetLogger(ctx).Warn("policy announcement not posted to Slack", "status", slackRes.Status, "reason", slackRes.Reason)
	}
	return slackRes, sent, err
}

// announceEmail emails everyone active in batches and answers how many.
func announceEmail(ctx workflow.Context, in activities.AnnouncementInput) (int, error) {
	actx := workflow.WithActivityOptions(ctx, announceOptions)
	sent := 0
	batch := activities.AnnounceEmailBatchInput{Announcement: in, Limit: announceBatchSize}
	for {
		var res activities.AnnounceEmailBatchResult
		if err := workflow.ExecuteActivity(actx, announceAct.AnnounceEmailBatch, batch).Get(ctx, &res); err != nil {
			return sent, err
		}
		sent += res.Sent
		if res.Done {
			return sent, nil
		}
		batch.After = res.Last
	}
}
