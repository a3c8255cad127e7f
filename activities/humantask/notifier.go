package humantask

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/slack-go/slack"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/refusal"
)

// Notifier sends the messages of human tasks: an email with a signed link to
// the portal and a Slack DM with one button per action, each recorded once in
// notifications.
type Notifier struct {
	DB      *sqlx.DB
	Mailer  *notify.Mailer
	Slack   *notify.Slack // nil when no Slack bot token is configured
	Links   *links.Signer
	BaseURL string // the portal, e.g. https://comply.example.com
	LinkTTL time.Duration
}

// Task notice results.
const (
	NoticeSent        = notify.StatusSent
	NoticeFailed      = notify.StatusFailed // the recipient refused for good (SMTP 5xx to RCPT, unknown Slack user): try another channel
	NoticeUnavailable = notify.StatusUnavailable
)

// SlackActionPrefix starts the action_id of every task button; the rest is
// the action. The button's value is the task ID.
const SlackActionPrefix = "complyflow-task:"

// TaskNoticeInput is one message about a task to one person. Purpose is
// "assigned", "reminder/N" or "escalated/N" and, with the task and person,
// makes the idempotency key.
type TaskNoticeInput struct {
	TaskID   string
	PersonID string
	Purpose  string
	// Reason is why an escalation happened before the task was overdue: the
	// assignee (and everyone before) could not be reached. Empty: overdue.
	Reason string `json:",omitempty"`
}

// TaskNoticeResult is what became of the message; Reason says why it was not sent.
type TaskNoticeResult struct {
	Status string
	Reason string
}

// SendTaskEmail emails the person about the task with their own signed link.
func (n *Notifier) SendTaskEmail(ctx context.Context, in TaskNoticeInput) (TaskNoticeResult, error) {
	msg, err := n.compose(ctx, in)
	if err != nil {
		return TaskNoticeResult{}, err
	}
	if msg.person.Email == "" {
		return TaskNoticeResult{Status: NoticeUnavailable, Reason: "no email address in the directory"}, nil
	}
	rec, err := notify.SendOnce(ctx, n.DB, n.notification(in, notify.ChannelEmail), func(ctx context.Context, rec *notify.Notification) error {
		rec.Address = msg.person.Email
		id, err := n.Mailer.Send(ctx, notify.Email{
			To: msg.person.Email, ToName: msg.person.Name, Subject: msg.title,
			Text: msg.text(), HTML: msg.html(), IdempotencyKey: rec.IdempotencyKey,
		})
		rec.ProviderRef = id
		return err
	})
	return result(rec), notify.ActivityError(err)
}

// SendTaskSlack DMs the person about the task, with one button per action.
func (n *Notifier) SendTaskSlack(ctx context.Context, in TaskNoticeInput) (TaskNoticeResult, error) {
	if n.Slack == nil {
		return TaskNoticeResult{Status: NoticeUnavailable, Reason: "Slack is not configured"}, nil
	}
	msg, err := n.compose(ctx, in)
	if err != nil {
		return TaskNoticeResult{}, err
	}
	if msg.person.SlackUserID == "" && msg.person.Email == "" {
		return TaskNoticeResult{Status: NoticeUnavailable, Reason: "no Slack user ID and no email to find one by"}, nil
	}
	rec, err := notify.SendOnce(ctx, n.DB, n.notification(in, notify.ChannelSlack), func(ctx context.Context, rec *notify.Notification) error {
		user, err := n.Slack.ResolveUser(ctx, msg.person.SlackUserID, msg.person.Email)
		if err != nil {
			return err
		}
		rec.Address = user
		ref, err := n.Slack.DirectMessage(ctx, user, msg.title, msg.blocks()...)
		rec.ProviderRef = ref.String()
		return err
	})
	return result(rec), notify.ActivityError(err)
}

// TaskClosedInput names a completed task.
type TaskClosedInput struct {
	TaskID string
}

// UpdateTaskSlack rewrites every Slack message sent about a completed task to
// say who did what and when, so nobody presses a stale button.
func (n *Notifier) UpdateTaskSlack(ctx context.Context, in TaskClosedInput) error {
	if n.Slack == nil {
		return nil
	}
	t, ok, err := LoadTask(ctx, n.DB, in.TaskID)
	if err != nil {
		return err
	}
	if !ok || t.Status != "completed" {
		return refusal.New("task %s is not completed", in.TaskID)
	}
	var refs []string
	if err := n.DB.SelectContext(ctx, &refs, `SELECT provider_ref FROM notifications
		WHERE task_id = $1 AND channel = 'slack' AND status = 'sent' ORDER BY id`, in.TaskID); err != nil {
		return err
	}
	text := fmt.Sprintf("%s — %s by %s at %s", t.Subject, t.OutcomeAction, t.OutcomeByName, t.CompletedAt.Time.UTC().Format("2006-01-02 15:04 MST"))
	blocks := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "✅ *"+notify.EscapeMrkdwn(text)+"*", false, false), nil, nil)}
	if t.OutcomeNote != "" {
		blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.PlainTextType, "Note: "+t.OutcomeNote, false, false)))
	}
	for _, r := range refs {
		ref, ok := notify.ParseMessageRef(r)
		if !ok {
			continue
		}
		if err := n.Slack.Update(ctx, ref, text, blocks...); err != nil {
			var de *notify.DeliveryError
			if errors.As(err, &de) && de.Permanent {
				continue // a deleted DM cannot be updated, and need not be
			}
			return notify.ActivityError(err)
		}
	}
	return nil
}

func (n *Notifier) notification(in TaskNoticeInput, channel string) notify.Notification {
	return notify.Notification{
		IdempotencyKey: notify.NotificationKey(in.TaskID, in.Purpose, channel, in.PersonID),
		Channel:        channel, RecipientID: in.PersonID, Purpose: in.Purpose, TaskID: in.TaskID,
	}
}

func result(rec notify.Notification) TaskNoticeResult {
	return TaskNoticeResult{Status: rec.Status, Reason: rec.Error}
}

// taskMessage is everything one notice says, in each channel's form.
type taskMessage struct {
	task   TaskRecord
	person directory.Person
	title  string
	intro  string
	link   string
	expiry time.Time
}

func (n *Notifier) compose(ctx context.Context, in TaskNoticeInput) (taskMessage, error) {
	t, ok, err := LoadTask(ctx, n.DB, in.TaskID)
	if err != nil {
		return taskMessage{}, err
	}
	if !ok {
		return taskMessage{}, refusal.New("task %s is not recorded", in.TaskID)
	}
	p, err := directory.LookupPerson(ctx, n.DB, in.PersonID)
	if err != nil {
		return taskMessage{}, err
	}
	m := taskMessage{task: t, person: p}
	kind, num, _ := strings.Cut(in.Purpose, "/")
	switch kind {
	case "assigned":
		m.title, m.intro = "Task: "+t.Subject, "You have a new task."
	case "reminder":
		m.title = "Reminder: " + t.Subject
		m.intro = fmt.Sprintf("A reminder (number %s): this task is still open.", num)
		if time.Now().After(t.Due) {
			m.intro = fmt.Sprintf("A reminder (number %s): this task is overdue.", num)
		}
	case "escalated":
		m.title = "Overdue, escalated to you: " + t.Subject
		m.intro = fmt.Sprintf("This task was assigned to %s and is overdue. It has been escalated to you: you may complete it.", t.AssigneeName)
		if in.Reason != "" {
			m.title = "Escalated to you: " + t.Subject
			m.intro = fmt.Sprintf("This task was assigned to %s, who could not be reached (%s). It has been escalated to you: you may complete it.",
				t.AssigneeName, in.Reason)
		}
	case "reassigned":
		m.title = "Reassigned to you: " + t.Subject
		m.intro = fmt.Sprintf("This task was assigned to %s. It has been handed to you (%s): you may complete it.", t.AssigneeName, in.Reason)
	default:
		return taskMessage{}, refusal.New("unknown notice purpose %s", in.Purpose)
	}
	// A link outlives the due date by the TTL, so an escalated person can still use it.
	m.expiry = time.Now().Add(n.LinkTTL)
	if d := t.Due.Add(n.LinkTTL); d.After(m.expiry) {
		m.expiry = d
	}
	m.link = n.BaseURL + "/t/" + n.Links.Sign(links.Claims{Subject: t.ID, PersonID: p.ID, Expires: m.expiry})
	return m, nil
}

func (m taskMessage) actionList() string {
	return strings.Join(m.task.Actions, ", ")
}

func (m taskMessage) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n%s\n\n%s\nDue: %s\n", m.person.Name, m.intro, m.task.Subject, notify.When(m.task.Due))
	if m.task.Body != "" {
		fmt.Fprintf(&b, "\n%s\n", m.task.Body)
	}
	fmt.Fprintf(&b, "\nOpen the task to %s:\n%s\n\nThis link is yours alone and expires on %s.\n",
		m.actionList(), m.link, m.expiry.UTC().Format("2 Jan 2006"))
	return b.String()
}

var emailHTML = template.Must(template.New("email").Parse(`<!doctype html>
<html><body style="font-family: sans-serif; max-width: 40em">
<p>Hello {{.Person.Name}},</p>
<p>{{.Intro}}</p>
<h2>{{.Task.Subject}}</h2>
<p><strong>Due:</strong> {{.Due}}</p>
{{range .Paragraphs}}<p style="white-space: pre-line">{{.}}</p>
{{end}}<p><a href="{{.Link}}" style="display: inline-block; padding: .6em 1.2em; background: #1f6feb; color: #fff; text-decoration: none; border-radius: 4px">Open the task ({{.Actions}})</a></p>
<p style="color: #666; font-size: small">This link is yours alone and expires on {{.Expiry}}.</p>
</body></html>
`))

func (m taskMessage) html() string {
	var b bytes.Buffer
	emailHTML.Execute(&b, map[string]any{
		"Person": m.person, "Intro": m.intro, "Task": m.task, "Link": m.link, "Actions": m.actionList(),
		"Due":        notify.When(m.task.Due),
		"Paragraphs": notify.Paragraphs(m.task.Body),
		"Expiry":     m.expiry.UTC().Format("2 Jan 2006"),
	})
	return b.String()
}

// ActionLabel is a task action as a button says it, in Slack and on the
// portal's task page.
func ActionLabel(action string) string {
	switch action {
	case "removed":
		return "Access removed"
	case "no-account":
		return "No account"
	case "":
		return ""
	}
	return strings.ToUpper(action[:1]) + action[1:]
}

// Slack allows 3000 characters in a section's text.
const slackSectionMax = 2900

func (m taskMessage) blocks() []slack.Block {
	head := fmt.Sprintf("%s\n*%s*\nDue: %s", notify.EscapeMrkdwn(m.intro), notify.EscapeMrkdwn(m.task.Subject), notify.When(m.task.Due))
	blocks := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, head, false, false), nil, nil)}
	if m.task.Body != "" {
		body := notify.EscapeMrkdwnMax(m.task.Body, slackSectionMax)
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, body, false, false), nil, nil))
	}
	var buttons []slack.BlockElement
	for _, a := range m.task.Actions {
		label := ActionLabel(a)
		b := slack.NewButtonBlockElement(SlackActionPrefix+a, m.task.ID, slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
		switch a {
		case "approve", "done", "acknowledge", "removed":
			b.Style = slack.StylePrimary
		case "reject":
			// A rejection needs a note, which a button cannot carry: it opens the portal page.
			b.Style = slack.StyleDanger
			b.URL = m.link
			label += " (with a note)"
			b.Text = slack.NewTextBlockObject(slack.PlainTextType, label, false, false)
		}
		buttons = append(buttons, b)
	}
	return append(blocks, slack.NewActionBlock("task", buttons...))
}
