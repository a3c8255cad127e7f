package policychange

import (
	"context"
	"fmt"
	"strings"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/jmoiron/sqlx"
)

// PurposeAnnouncement is the notifications.purpose of a policy announcement.
const PurposeAnnouncement = "policy-announcement"

// Announcer tells the workforce about published policy changes (one post to
// the announcement channel, an email to every active person) and sends the
// policy lifecycle's other plain emails, recording each message once.
type Announcer struct {
	DB      *sqlx.DB
	Pool    *notify.Pool  // the worker's reused SMTP connections
	Slack   *notify.Slack // nil when no Slack bot token is configured
	Channel string        // SLACK_ANNOUNCE_CHANNEL
}

// AnnouncementInput is a published change. RequestID makes every message's
// idempotency key and is kept as the notifications' task_id.
type AnnouncementInput struct {
	RequestID   string
	PolicyID    string
	PolicyTitle string
	Version     string
	Kind        string
	Summary     string
}

func (in AnnouncementInput) subject() string {
	return fmt.Sprintf("Policy update: %s, version %s", in.PolicyTitle, in.Version)
}

// text is the high-level description the reference asks the officer to send:
// what changed, in the requester's summary, and what the reader must do.
func (in AnnouncementInput) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) is now at version %s.\n\nWhat changed: %s\n", in.PolicyTitle, in.PolicyID, in.Version, in.Summary)
	if in.Kind == "material" {
		b.WriteString("\nThis is a material change: you will be asked to read and acknowledge the policy again.\n")
	} else {
		b.WriteString("\nThis is a minor revision; nothing is asked of you.\n")
	}
	return b.String()
}

// AnnounceResult says what became of a message; Reason says why it was not sent.
type AnnounceResult struct {
	Status string
	Reason string
}

// AnnounceSlack posts the change to the announcement channel once.
func (a *Announcer) AnnounceSlack(ctx context.Context, in AnnouncementInput) (AnnounceResult, error) {
	if a.Slack == nil {
		return AnnounceResult{Status: notify.StatusUnavailable, Reason: "Slack is not configured"}, nil
	}
	n := notify.Notification{
		IdempotencyKey: notify.NotificationKey(in.RequestID, PurposeAnnouncement, notify.ChannelSlack),
		Channel:        notify.ChannelSlack, Address: a.Channel, Purpose: PurposeAnnouncement, TaskID: in.RequestID,
	}
	rec, err := notify.SendOnce(ctx, a.DB, n, func(ctx context.Context, n *notify.Notification) error {
		ref, err := a.Slack.Post(ctx, a.Channel, "*"+notify.EscapeMrkdwn(in.subject())+"*\n"+notify.EscapeMrkdwn(in.text()))
		n.ProviderRef = ref.String()
		return err
	})
	if err != nil {
		return AnnounceResult{}, notify.MustSendActivityError(err)
	}
	return AnnounceResult{Status: rec.Status, Reason: rec.Error}, nil
}

// AnnounceEmailBatchInput asks for the next batch of announcement emails:
// active people with an email address whose ID sorts after After.
type AnnounceEmailBatchInput struct {
	Announcement AnnouncementInput
	After        string
	Limit        int
}

// AnnounceEmailBatchResult is one batch's outcome; Last is where the next
// batch starts, and Done is set when there is no next batch.
type AnnounceEmailBatchResult struct {
	Last   string
	Sent   int
	Failed int
	Done   bool
}

// AnnounceEmailBatch emails one batch of people over the pooled
// connections and records the batch at once (notify.SendBatch): each
// message under its own key, so a retried batch sends only what is
// missing, and one audit entry for the batch. Sent and Failed count what
// the ledger holds for the batch, so a retry reports the whole batch. The
// version is published already, so a mail misconfiguration is retried,
// not final (MustSendActivityError).
func (a *Announcer) AnnounceEmailBatch(ctx context.Context, in AnnounceEmailBatchInput) (AnnounceEmailBatchResult, error) {
	if in.Limit <= 0 {
		return AnnounceEmailBatchResult{}, refusal.New("batch limit must be positive")
	}
	var people []directory.Person
	if err := a.DB.SelectContext(ctx, &people, `
		SELECT id, name, email, slack_user_id FROM people p
		WHERE email <> '' AND id > $1
		  AND (start_date IS NULL OR start_date <= current_date) AND `+directory.NotLeft+`
		ORDER BY id LIMIT $2`, in.After, in.Limit); err != nil {
		return AnnounceEmailBatchResult{}, err
	}
	res := AnnounceEmailBatchResult{Last: in.After, Done: len(people) < in.Limit}
	if len(people) == 0 {
		return res, nil
	}
	ann := in.Announcement
	subject, text := ann.subject(), ann.text()
	html := notify.TextHTML(text)
	b := notify.Batch{Actor: "complyflow", Action: "policy.announcement.emailed", Subject: ann.RequestID,
		Key: notify.NotificationKey(ann.RequestID, PurposeAnnouncement, "after", in.After)}
	keys := make([]string, len(people))
	for i, p := range people {
		key := notify.NotificationKey(ann.RequestID, PurposeAnnouncement, notify.ChannelEmail, p.ID)
		keys[i] = key
		b.Messages = append(b.Messages, notify.Outgoing{
			Notification: notify.Notification{IdempotencyKey: key, Channel: notify.ChannelEmail, RecipientID: p.ID,
				Address: p.Email, Purpose: PurposeAnnouncement, TaskID: ann.RequestID},
			Email: notify.Email{To: p.Email, ToName: p.Name, Subject: subject, Text: text, HTML: html, IdempotencyKey: key},
		})
	}
	if _, err := notify.SendBatch(ctx, a.DB, a.Pool, nil, b); err != nil {
		return AnnounceEmailBatchResult{}, notify.MustSendActivityError(err)
	}
	var err error
	if res.Sent, res.Failed, err = notify.Recorded(ctx, a.DB, keys); err != nil {
		return AnnounceEmailBatchResult{}, err
	}
	res.Last = people[len(people)-1].ID
	return res, nil
}
