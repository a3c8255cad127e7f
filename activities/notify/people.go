package notify

import (
	"context"
	"html"
	"strings"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
	"github.com/jmoiron/sqlx"
)

// Messages sends plain messages that are not tasks, e.g. an exception's
// expiry reminder, each once under its key and, when asked, audited.
type Messages struct {
	DB     *sqlx.DB
	Mailer *Mailer
}

// TextHTML renders plain text's paragraphs as HTML.
func TextHTML(text string) string {
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
func (a *Messages) EmailPeople(ctx context.Context, in EmailPeopleInput) (int, error) {
	sent, err := a.emailPeople(ctx, in)
	if err != nil || in.AuditAction == "" {
		return sent, err
	}
	return sent, audit.Write(ctx, a.DB, audit.Entry{
		Actor: "complyflow", Action: in.AuditAction, Subject: in.Ref, Controls: in.Controls,
		Detail: map[string]any{"purpose": in.Purpose, "to": in.PersonIDs, "sent": sent}, Key: in.Key,
	})
}

func (a *Messages) emailPeople(ctx context.Context, in EmailPeopleInput) (int, error) {
	sent := 0
	html := TextHTML(in.Text)
	for _, id := range in.PersonIDs {
		p, err := directory.LookupPerson(ctx, a.DB, id)
		if err != nil {
			return sent, err
		}
		if p.Email == "" {
			continue
		}
		rec, err := EmailOnce(ctx, a.DB, a.Mailer, p, NotificationKey(in.Key, ChannelEmail, p.ID), in.Purpose, in.Ref, in.Subject, in.Text, html)
		if err != nil {
			return sent, ActivityError(err)
		}
		if rec.Status == StatusSent {
			sent++
		}
	}
	return sent, nil
}

// EmailOnce emails a person once under key (see SendOnce); ref is kept as
// the notification's task_id.
func EmailOnce(ctx context.Context, db *sqlx.DB, m *Mailer, p directory.Person, key, purpose, ref, subject, text, html string) (Notification, error) {
	n := Notification{IdempotencyKey: key, Channel: ChannelEmail, RecipientID: p.ID, Address: p.Email, Purpose: purpose, TaskID: ref}
	return SendOnce(ctx, db, n, func(ctx context.Context, n *Notification) error {
		id, err := m.Send(ctx, Email{To: p.Email, ToName: p.Name, Subject: subject, Text: text, HTML: html,
			IdempotencyKey: n.IdempotencyKey})
		n.ProviderRef = id
		return err
	})
}
