package policychange

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/activities/notify"
	act "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/internal/refusal"
)

var (
	policyAct   *act.Activities
	announceAct *act.Announcer
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
		NonRetryableErrorTypes: []string{refusal.Type, "UnknownPerson"}},
}

// announceBatchSize is how many people one email batch activity reaches.
const announceBatchSize = 200

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
		MaximumAttempts: 10, NonRetryableErrorTypes: []string{refusal.Type}},
}

// announce posts the change to the channel and emails everyone in batches,
// both at once; it answers what became of the post and how many people were
// emailed.
func announce(ctx workflow.Context, in act.AnnouncementInput) (act.AnnounceResult, int, error) {
	post := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, slackAnnounceOptions), announceAct.AnnounceSlack, in)
	sent, err := announceEmail(ctx, in)
	var slackRes act.AnnounceResult
	if perr := post.Get(ctx, &slackRes); perr != nil {
		slackRes = act.AnnounceResult{Status: notify.StatusFailed, Reason: perr.Error()}
	}
	if slackRes.Status != notify.StatusSent {
		workflow.GetLogger(ctx).Warn("policy announcement not posted to Slack", "status", slackRes.Status, "reason", slackRes.Reason)
	}
	return slackRes, sent, err
}

// announceEmail emails everyone active in batches and answers how many.
func announceEmail(ctx workflow.Context, in act.AnnouncementInput) (int, error) {
	actx := workflow.WithActivityOptions(ctx, announceOptions)
	sent := 0
	batch := act.AnnounceEmailBatchInput{Announcement: in, Limit: announceBatchSize}
	for {
		var res act.AnnounceEmailBatchResult
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
