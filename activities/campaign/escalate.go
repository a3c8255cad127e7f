package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
)

// ToManager is the escalation target meaning each person's own manager (as
// workflows.EscalateToManager spells it in the program file).
const ToManager = "@manager"

// EscalateInput is one escalation step of a campaign: Step (1-based) is
// taken for everyone still pending past their due date plus After.
type EscalateInput struct {
	CampaignID string
	Step       int
	To         string // "@manager", "role:NAME" or a person ID
	After      time.Duration
	Controls   []string
	At         time.Time // the workflow's time: overdue as of then
}

// EscalateResult says who was escalated and to whom.
type EscalateResult struct {
	People     int      // overdue people escalated
	Recipients int      // digests sent (managers, or the step's people)
	Unrouted   []string // overdue people with nobody to tell at this step
	Sent       map[string]int
	Failed     map[string]int
}

type overduePerson struct {
	ID         string    `db:"id"`
	Name       string    `db:"name"`
	Email      string    `db:"email"`
	Department string    `db:"department"`
	ManagerID  string    `db:"manager_id"`
	DueAt      time.Time `db:"due_at"`
}

// Escalate sends the step's digests: to @manager, each manager ONE message
// listing all their overdue reports (not one per report); to a role or a
// person, one message with the counts per department and the list (issue
// 11 item 4). Then it marks those people escalated to this step and writes
// the escalation to the audit log. A retry re-sends no digest already
// recorded and marks nobody twice.
func (a *Activities) Escalate(ctx context.Context, in EscalateInput) (EscalateResult, error) {
	res := EscalateResult{Sent: map[string]int{}, Failed: map[string]int{}}
	c, err := a.load(ctx, in.CampaignID)
	if err != nil {
		return res, err
	}
	var overdue []overduePerson
	if err := a.DB.SelectContext(ctx, &overdue, `
		SELECT p.id, p.name, p.email, p.department, coalesce(p.manager_id, '') AS manager_id, a.due_at
		FROM assignments a JOIN people p ON p.id = a.person_id
		WHERE a.campaign_id = $1 AND a.status = 'pending' AND a.escalated < $2
		  AND a.due_at + $3::interval <= $4 AND (p.end_date IS NULL OR p.end_date > $5::date)
		ORDER BY p.department, p.id`, in.CampaignID, in.Step, intervalOf(in.After), in.At, day(in.At)); err != nil {
		return res, err
	}
	if len(overdue) == 0 {
		return res, nil
	}
	// Who gets which overdue people.
	groups := map[string][]overduePerson{}
	if in.To == ToManager {
		for _, p := range overdue {
			if p.ManagerID == "" {
				res.Unrouted = append(res.Unrouted, p.ID)
				continue
			}
			groups[p.ManagerID] = append(groups[p.ManagerID], p)
		}
	} else {
		to := []string{in.To}
		if role, ok := strings.CutPrefix(in.To, "role:"); ok {
			if to, err = directory.RoleHolders(ctx, a.DB, role); err != nil {
				return res, err
			}
		}
		for _, id := range to {
			groups[id] = overdue
		}
		if len(to) == 0 {
			for _, p := range overdue {
				res.Unrouted = append(res.Unrouted, p.ID)
			}
		}
	}
	recipients, err := a.people(ctx, slices.Sorted(maps.Keys(groups)), in.At)
	if err != nil {
		return res, err
	}
	purpose := fmt.Sprintf("escalation/%d", in.Step)
	var msgs []notify.Outgoing
	escalated := map[string][]string{}
	for _, r := range recipients {
		list := groups[r.ID]
		subject, text := digest(c, in, r, list)
		sent := false
		if r.Email != "" {
			key := notify.NotificationKey(c.ID, r.ID, purpose, notify.ChannelEmail)
			msgs = append(msgs, notify.Outgoing{
				Notification: notify.Notification{IdempotencyKey: key, Channel: notify.ChannelEmail, RecipientID: r.ID,
					Address: r.Email, Purpose: purpose, TaskID: c.ID},
				Email: notify.Email{To: r.Email, ToName: r.Name, Subject: subject, Text: text, HTML: notify.TextHTML(text), IdempotencyKey: key},
			})
			sent = true
		}
		if r.SlackUserID != "" && a.Slack != nil {
			key := notify.NotificationKey(c.ID, r.ID, purpose, notify.ChannelSlack)
			msgs = append(msgs, notify.Outgoing{
				Notification: notify.Notification{IdempotencyKey: key, Channel: notify.ChannelSlack, RecipientID: r.ID,
					Address: r.SlackUserID, Purpose: purpose, TaskID: c.ID},
				SlackText: "*" + notify.EscapeMrkdwn(subject) + "*\n" + notify.EscapeMrkdwnMax(text, 2800),
			})
			sent = true
		}
		if !sent {
			for _, p := range list {
				res.Unrouted = append(res.Unrouted, p.ID)
			}
			continue
		}
		res.Recipients++
		for _, p := range list {
			escalated[r.ID] = append(escalated[r.ID], p.ID)
		}
	}
	for start := 0; start < len(msgs); start += DefaultBatchSize {
		b := notify.Batch{Messages: msgs[start:min(start+DefaultBatchSize, len(msgs))], Actor: "complyflow",
			Action: "campaign.escalation.sent", Subject: c.ID, Controls: in.Controls, Key: "campaign/" + c.ID + "/" + purpose}
		sent, err := notify.SendBatch(ctx, a.DB, a.Pool, a.Slack, b)
		for ch, n := range sent.Sent {
			res.Sent[ch] += n
		}
		for ch, n := range sent.Failed {
			res.Failed[ch] += n
		}
		if err != nil {
			return res, notify.MustSendActivityError(err)
		}
	}
	n, err := a.markEscalated(ctx, in, escalated)
	res.People = n
	return res, err
}

// markEscalated records the step for the people escalated, once.
func (a *Activities) markEscalated(ctx context.Context, in EscalateInput, to map[string][]string) (int, error) {
	var ids []string
	for _, list := range to {
		ids = append(ids, list...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return 0, nil
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var marked []string
	if err := tx.SelectContext(ctx, &marked, `
		UPDATE assignments SET escalated = $3
		WHERE campaign_id = $1 AND person_id = ANY($2) AND escalated < $3
		RETURNING person_id`, in.CampaignID, array(ids), in.Step); err != nil {
		return 0, err
	}
	if len(marked) > 0 {
		slices.Sort(marked)
		sum := sha256.Sum256([]byte(strings.Join(marked, "\n")))
		if err := audit.Write(ctx, tx, audit.Entry{Actor: "complyflow", Action: "campaign.escalated", Subject: in.CampaignID,
			Controls: in.Controls, Key: fmt.Sprintf("campaign/%s/escalated/%d/%s", in.CampaignID, in.Step, hex.EncodeToString(sum[:8])),
			Detail: map[string]any{"step": in.Step, "to": in.To, "after_due": in.After.String(), "people": len(marked), "recipients": to}}); err != nil {
			return 0, err
		}
	}
	return len(ids), tx.Commit()
}

func (a *Activities) people(ctx context.Context, ids []string, at time.Time) ([]directory.Person, error) {
	var out []directory.Person
	err := a.DB.SelectContext(ctx, &out, `SELECT id, name, email, slack_user_id FROM people p
		WHERE id = ANY($1) AND (p.end_date IS NULL OR p.end_date > $2::date) ORDER BY id`,
		array(ids), day(at))
	return out, err
}

// digest is one escalation message: to a manager, their overdue reports;
// to anyone else, the counts per department, then the list.
func digest(c campaignInfo, in EscalateInput, to directory.Person, list []overduePerson) (subject, text string) {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", to.Name)
	if in.To == ToManager {
		subject = fmt.Sprintf("Overdue: %d of your reports have not completed \"%s\"", len(list), c.Title)
		fmt.Fprintf(&b, "These people who report to you are past their due date for \"%s\":\n\n", c.Title)
		for _, p := range list {
			fmt.Fprintf(&b, "- %s (%s), due %s\n", p.Name, p.ID, notify.When(p.DueAt))
		}
		b.WriteString("\nPlease ask them to complete it: each has the link in their email and Slack.\n")
		return subject, b.String()
	}
	subject = fmt.Sprintf("Overdue: %d people have not completed \"%s\"", len(list), c.Title)
	fmt.Fprintf(&b, "%d people are past their due date for \"%s\" (campaign %s).\n\nBy department:\n", len(list), c.Title, c.ID)
	counts := map[string]int{}
	for _, p := range list {
		counts[p.Department]++
	}
	for _, dep := range slices.Sorted(maps.Keys(counts)) {
		name := dep
		if name == "" {
			name = "(no department)"
		}
		fmt.Fprintf(&b, "- %s: %d\n", name, counts[dep])
	}
	b.WriteString("\nEveryone overdue:\n")
	for _, p := range list {
		fmt.Fprintf(&b, "- %s (%s), %s, due %s\n", p.Name, p.ID, orNone(p.Department), notify.When(p.DueAt))
	}
	return subject, b.String()
}

func orNone(s string) string {
	if s == "" {
		return "no department"
	}
	return s
}
