package campaign

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/activity"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/links"
)

// Notice purposes, as notifications.purpose spells them: the first message,
// then each reminder by its number.
const PurposeAssigned = "assigned"

// PurposeReminder is the purpose of reminder n (1-based).
func PurposeReminder(n int) string { return fmt.Sprintf("reminder/%d", n) }

// NoticeInput asks for one round of messages to everyone still pending.
type NoticeInput struct {
	CampaignID string
	Purpose    string
	Controls   []string
	At         time.Time // the workflow's time: who has left by then is skipped
	// BatchSize is how many people one batch holds: sent together, recorded
	// in one transaction, and at most what a crash sends twice.
	BatchSize int
}

// NoticeResult counts a round's messages by channel; People is how many
// pending people the round reached out to.
type NoticeResult struct {
	People int
	Sent   map[string]int
	Failed map[string]int
}

// noticeProgress is the heartbeat: where a retried round resumes.
type noticeProgress struct {
	After  string
	Result NoticeResult
}

// Notify sends one round — the assignment, or reminder n — to every person
// still pending, by email and by Slack DM where they have each, in batches
// ordered by person. It heartbeats after each batch, so a retry after a
// crash resumes after the last batch recorded; within a batch, messages
// already recorded are skipped (notify.SendBatch).
func (a *Activities) Notify(ctx context.Context, in NoticeInput) (NoticeResult, error) {
	var prog noticeProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prog)
	}
	if prog.Result.Sent == nil {
		prog.Result = NoticeResult{Sent: map[string]int{}, Failed: map[string]int{}}
	}
	if in.BatchSize <= 0 {
		in.BatchSize = DefaultBatchSize
	}
	c, err := a.load(ctx, in.CampaignID)
	if err != nil {
		return NoticeResult{}, err
	}
	// A batch against a slow server may outlast the heartbeat timeout: the
	// beat goes on while it sends, carrying the last batch recorded.
	var mu sync.Mutex
	beat := func() {
		mu.Lock()
		defer mu.Unlock()
		activity.RecordHeartbeat(ctx, prog)
	}
	stop := everyFewSeconds(beat)
	defer stop()
	// The next batch is read and composed while this one sends.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches, failed := a.prepareBatches(pctx, c, in, prog.After)
	for b := range batches {
		res, err := notify.SendBatch(ctx, a.DB, a.Pool, a.Slack, b.Batch)
		if err != nil {
			return NoticeResult{}, notify.MustSendActivityError(err)
		}
		mu.Lock()
		add(&prog.Result, res)
		prog.Result.People += b.people
		prog.After = b.last
		mu.Unlock()
		beat()
	}
	if err := <-failed; err != nil {
		return NoticeResult{}, err
	}
	return prog.Result, nil
}

// preparedBatch is one batch of a round, composed: its messages, how many
// people it reaches, and the last of them (where the next batch starts).
type preparedBatch struct {
	notify.Batch
	people int
	last   string
}

// prepareBatches reads the pending people after `after` batch by batch and
// composes their messages, one batch ahead of the sender. failed yields
// the error that stopped it, or nil, once batches is closed.
func (a *Activities) prepareBatches(ctx context.Context, c campaignInfo, in NoticeInput, after string) (<-chan preparedBatch, <-chan error) {
	batches, failed := make(chan preparedBatch, 1), make(chan error, 1)
	go func() {
		defer close(failed)
		defer close(batches)
		for {
			var people []pendingPerson
			if err := a.DB.SelectContext(ctx, &people, `
				SELECT p.id, p.name, p.email, p.slack_user_id, a.due_at
				FROM assignments a JOIN people p ON p.id = a.person_id
				WHERE a.campaign_id = $1 AND a.status = 'pending' AND a.person_id > $2
				  AND (p.end_date IS NULL OR p.end_date > $4::date)
				ORDER BY a.person_id LIMIT $3`, in.CampaignID, after, in.BatchSize, day(in.At)); err != nil {
				failed <- err
				return
			}
			if len(people) == 0 {
				return
			}
			b := preparedBatch{people: len(people), last: people[len(people)-1].ID,
				Batch: notify.Batch{Actor: "complyflow", Action: "campaign.notified", Subject: in.CampaignID, Controls: in.Controls,
					Key: "campaign/" + in.CampaignID + "/" + in.Purpose}}
			for _, p := range people {
				b.Messages = append(b.Messages, a.notices(c, in.Purpose, p)...)
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
			if len(people) < in.BatchSize {
				return
			}
			after = b.last
		}
	}()
	return batches, failed
}

// everyFewSeconds calls f every 5 seconds until the returned stop is called.
func everyFewSeconds(f func()) (stop func()) {
	t := time.NewTicker(5 * time.Second)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-t.C:
				f()
			case <-done:
				return
			}
		}
	}()
	return func() { t.Stop(); close(done) }
}

// DefaultBatchSize: 1,000 people is about a tenth of a second of mail at a
// loopback server's pace — small enough that a crash resends little, large
// enough that the per-batch reads and transaction are a small part of the
// send (with 500 a 10,000-person campaign took 3.0 s, with 1,000 2.2-2.5 s,
// in make bench).
const DefaultBatchSize = 1000

func add(r *NoticeResult, b notify.BatchResult) {
	for ch, n := range b.Sent {
		r.Sent[ch] += n
	}
	for ch, n := range b.Failed {
		r.Failed[ch] += n
	}
}

type pendingPerson struct {
	ID          string    `db:"id"`
	Name        string    `db:"name"`
	Email       string    `db:"email"`
	SlackUserID string    `db:"slack_user_id"`
	DueAt       time.Time `db:"due_at"`
}

// campaignInfo is what the messages say about a campaign.
type campaignInfo struct {
	ID       string
	Kind     string
	Title    string
	Training string
	Policies []PolicyVersion
}

func (a *Activities) load(ctx context.Context, id string) (campaignInfo, error) {
	c := campaignInfo{ID: id}
	if err := a.DB.QueryRowxContext(ctx, `
		SELECT c.kind, c.title, coalesce(t.title, '') FROM campaigns c LEFT JOIN trainings t ON t.id = c.training_id
		WHERE c.id = $1`, id).Scan(&c.Kind, &c.Title, &c.Training); err != nil {
		return c, fmt.Errorf("campaign %s: %w", id, err)
	}
	err := a.DB.SelectContext(ctx, &c.Policies, `
		SELECT cp.policy_id, p.title, cp.version, cp.text_sha256
		FROM campaign_policies cp JOIN policies p ON p.id = cp.policy_id
		WHERE cp.campaign_id = $1 ORDER BY cp.policy_id`, id)
	return c, err
}

// notices are one person's messages of a round: an email and a Slack DM,
// each with a link made for its channel.
func (a *Activities) notices(c campaignInfo, purpose string, p pendingPerson) []notify.Outgoing {
	subject, intro := c.Title, "You are asked to"
	if strings.HasPrefix(purpose, "reminder/") {
		subject, intro = "Reminder: "+c.Title, "A reminder: you are asked to"
	}
	subject += " (due " + p.DueAt.UTC().Format("2 Jan 2006") + ")"
	var what strings.Builder
	if c.Kind == KindAcknowledgement {
		fmt.Fprintf(&what, "%s read and accept these policies by %s:\n\n", intro, notify.When(p.DueAt))
		for _, pv := range c.Policies {
			fmt.Fprintf(&what, "- %s, version %s\n", pv.Title, pv.Version)
		}
	} else {
		fmt.Fprintf(&what, "%s complete the training \"%s\" by %s.\n", intro, c.Training, notify.When(p.DueAt))
	}
	var out []notify.Outgoing
	key := func(channel string) string { return notify.NotificationKey(c.ID, p.ID, purpose, channel) }
	if p.Email != "" {
		link := a.link(c.ID, ChannelPortal, p.ID)
		text := fmt.Sprintf("Hello %s,\n\n%s\nOpen your page: %s\n\nThe link is yours alone: it signs in your name.\n", p.Name, what.String(), link)
		out = append(out, notify.Outgoing{
			Notification: notify.Notification{IdempotencyKey: key(notify.ChannelEmail), Channel: notify.ChannelEmail,
				RecipientID: p.ID, Address: p.Email, Purpose: purpose, TaskID: c.ID},
			Email: notify.Email{To: p.Email, ToName: p.Name, Subject: subject, Text: text, HTML: notify.TextHTML(text),
				IdempotencyKey: key(notify.ChannelEmail)},
		})
	}
	if p.SlackUserID != "" && a.Slack != nil {
		link := a.link(c.ID, ChannelSlack, p.ID)
		head := "*" + notify.EscapeMrkdwn(subject) + "*\n" + notify.EscapeMrkdwnMax(what.String(), 2800)
		label := "Read and accept"
		if c.Kind == KindTraining {
			label = "Start the training"
		}
		button := slack.NewButtonBlockElement("campaign-open", c.ID, slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
		button.URL, button.Style = link, slack.StylePrimary
		out = append(out, notify.Outgoing{
			Notification: notify.Notification{IdempotencyKey: key(notify.ChannelSlack), Channel: notify.ChannelSlack,
				RecipientID: p.ID, Address: p.SlackUserID, Purpose: purpose, TaskID: c.ID},
			SlackText: subject,
			SlackBlocks: []slack.Block{
				slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, head, false, false), nil, nil),
				slack.NewActionBlock("campaign", button),
			},
		})
	}
	return out
}

func (a *Activities) link(campaignID, channel, personID string) string {
	token := a.Links.Sign(links.Claims{Subject: AssignmentSubject(campaignID, channel), PersonID: personID,
		Expires: time.Now().Add(a.LinkTTL)})
	return strings.TrimRight(a.BaseURL, "/") + "/a/" + token
}
