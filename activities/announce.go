package activities

import (
	"context"
	"fmt"
	"html"
	"strings"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/activity"
)

// PurposeAnnouncement is the notifications.purpose of a policy announcement.
const PurposeAnnouncement = "policy-announcement"

// Announcer tells the workforce about published policy changes (one post to
// the announcement channel, an email to every active person) and sends the
// policy lifecycle's other plain emails, recording each message once.
type Announcer struct {
	DB      *sqlx.DB
	Mailer  *Mailer
	Slack   *Slack // nil when no Slack bot token is configured
	Channel string // SLACK_ANNOUNCE_CHANNEL
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
		return AnnounceResult{Status: NoticeUnavailable, Reason: "Slack is not configured"}, nil
	}
	n := Notification{
		IdempotencyKey: NotificationKey(in.RequestID, PurposeAnnouncement, ChannelSlack),
		Channel:        ChannelSlack, Address: a.Channel, Purpose: PurposeAnnouncement, TaskID: in.RequestID,
	}
	rec, err := SendOnce(ctx, a.DB, n, func(ctx context.Context, n *Notification) error {
		ref, err := a.Slack.Post(ctx, a.Channel, "*"+escapeMrkdwn(in.subject())+"*\n"+escapeMrkdwn(in.text()))
		n.ProviderRef = ref.String()
		return err
	})
	if err != nil {
		return AnnounceResult{}, MustSendActivityError(err)
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

// AnnounceEmailBatch emails one batch of people. Each message is recorded
// under its own key, so a retried batch sends only what is missing; the
// heartbeat keeps a long batch alive. The version is published already, so
// a mail misconfiguration is retried, not final (MustSendActivityError).
func (a *Announcer) AnnounceEmailBatch(ctx context.Context, in AnnounceEmailBatchInput) (AnnounceEmailBatchResult, error) {
	if in.Limit <= 0 {
		return AnnounceEmailBatchResult{}, badInput("batch limit must be positive")
	}
	var people []Person
	if err := a.DB.SelectContext(ctx, &people, `
		SELECT id, name, email, slack_user_id FROM people p
		WHERE email <> '' AND id > $1
		  AND (start_date IS NULL OR start_date <= current_date) AND `+notLeft+`
		ORDER BY id LIMIT $2`, in.After, in.Limit); err != nil {
		return AnnounceEmailBatchResult{}, err
	}
	res := AnnounceEmailBatchResult{Last: in.After, Done: len(people) < in.Limit}
	ann := in.Announcement
	subject, text := ann.subject(), ann.text()
	html := textHTML(text)
	for _, p := range people {
		rec, err := a.email(ctx, p, NotificationKey(ann.RequestID, PurposeAnnouncement, ChannelEmail, p.ID),
			PurposeAnnouncement, ann.RequestID, subject, text, html)
		if err != nil {
			return AnnounceEmailBatchResult{}, MustSendActivityError(err)
		}
		if rec.Status == StatusSent {
			res.Sent++
		} else {
			res.Failed++
		}
		res.Last = p.ID
		activity.RecordHeartbeat(ctx, p.ID)
	}
	return res, nil
}

func (a *Announcer) email(ctx context.Context, p Person, key, purpose, ref, subject, text, html string) (Notification, error) {
	n := Notification{IdempotencyKey: key, Channel: ChannelEmail, RecipientID: p.ID, Address: p.Email, Purpose: purpose, TaskID: ref}
	return SendOnce(ctx, a.DB, n, func(ctx context.Context, n *Notification) error {
		id, err := a.Mailer.Send(ctx, Email{To: p.Email, ToName: p.Name, Subject: subject, Text: text, HTML: html,
			IdempotencyKey: n.IdempotencyKey})
		n.ProviderRef = id
		return err
	})
}

// textHTML renders plain text's paragraphs as HTML.
func textHTML(text string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(para), "\n", "<br>") + "</p>\n")
	}
	return b.String()
}

// EmailPeopleInput is one plain message to a few people, e.g. an exception's
// expiry reminder. Key plus the person ID is each message's idempotency key;
// Ref is kept as the notifications' task_id.
// AuditAction, when set, is the audit_log entry the sending makes (subject
// Ref, under each of Controls).
type EmailPeopleInput struct {
	Key         string
	Purpose     string
	Ref         string
	PersonIDs   []string
	Subject     string
	Text        string
	AuditAction string
	Controls    []string
}

// EmailPeople sends the message to each person once and reports how many
// were sent; a person without an address is skipped.
func (a *Announcer) EmailPeople(ctx context.Context, in EmailPeopleInput) (int, error) {
	sent, err := a.emailPeople(ctx, in)
	if err != nil || in.AuditAction == "" {
		return sent, err
	}
	return sent, writeAudit(ctx, a.DB, auditEntry{
		Actor: "complyflow", Action: in.AuditAction, Subject: in.Ref, Controls: in.Controls,
		Detail: map[string]any{"purpose": in.Purpose, "to": in.PersonIDs, "sent": sent}, Key: in.Key,
	})
}

func (a *Announcer) emailPeople(ctx context.Context, in EmailPeopleInput) (int, error) {
	sent := 0
	html := textHTML(in.Text)
	for _, id := range in.PersonIDs {
		p, err := LookupPerson(ctx, a.DB, id)
		if err != nil {
			return sent, err
		}
		if p.Email == "" {
			continue
		}
		rec, err := a.email(ctx, p, NotificationKey(in.Key, ChannelEmail, p.ID), in.Purpose, in.Ref, in.Subject, in.Text, html)
		if err != nil {
			return sent, ActivityError(err)
		}
		if rec.Status == StatusSent {
			sent++
		}
	}
	return sent, nil
}
