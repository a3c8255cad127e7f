package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/slack-go/slack"

	"github.com/complyflow/complyflow/audit"
)

// Outgoing is one message of a batch: the ledger row it becomes (key,
// channel, recipient, address, purpose, task) and what to send — Email for
// the email channel, SlackText and SlackBlocks for a Slack DM to Address.
type Outgoing struct {
	Notification
	Email       Email
	SlackText   string
	SlackBlocks []slack.Block
}

// Batch is a batch of messages with the audit entry that records it.
type Batch struct {
	Messages []Outgoing
	// Actor, Action, Subject and Controls make the batch's one audit entry
	// (its Detail lists every message); Key makes it idempotent.
	Actor, Action, Subject, Key string
	Controls                    []string
}

// BatchResult counts what became of a batch's messages by channel.
type BatchResult struct {
	Sent   map[string]int
	Failed map[string]int
}

// SendBatch sends every message of b whose key is not recorded yet — email
// concurrently over the pool, Slack one after another honouring Retry-After
// — then records them all in one transaction: the notifications rows under
// their idempotency keys and one audit entry for the batch. A worker that
// dies mid-batch recorded nothing of it, so its retry sends the batch again:
// duplicates are bounded by the one batch in flight, and the Message-ID
// derived from each key lets mail clients fold them. When some messages
// cannot be sent now (the server refuses everyone, the network), the rest
// are recorded and the error returned, so a retry sends only what is missing.
func SendBatch(ctx context.Context, db *sqlx.DB, pool *Pool, sl *Slack, b Batch) (BatchResult, error) {
	res := BatchResult{Sent: map[string]int{}, Failed: map[string]int{}}
	todo, err := unrecorded(ctx, db, b.Messages)
	if err != nil {
		return res, err
	}
	var emails, slacks []int
	for i, m := range todo {
		switch m.Channel {
		case ChannelEmail:
			emails = append(emails, i)
		case ChannelSlack:
			slacks = append(slacks, i)
		default:
			return res, fmt.Errorf("notification %s: unknown channel %q", m.IdempotencyKey, m.Channel)
		}
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	if len(emails) > 0 {
		if pool == nil {
			return res, errors.New("email messages in a batch, and no mail pool")
		}
		work := make(chan int)
		for range min(pool.Size(), len(emails)) {
			wg.Go(func() {
				for i := range work {
					todo[i].ProviderRef, errs[i] = pool.Send(ctx, todo[i].Email)
				}
			})
		}
		wg.Go(func() {
			defer close(work)
			for _, i := range emails {
				select {
				case work <- i:
				case <-ctx.Done():
					errs[i] = ctx.Err()
				}
			}
		})
	}
	if len(slacks) > 0 {
		wg.Go(func() {
			for _, i := range slacks {
				errs[i] = sendSlack(ctx, sl, &todo[i])
			}
		})
	}
	wg.Wait()

	var done []Notification
	var retry error
	for i, m := range todo {
		var de *DeliveryError
		switch err := errs[i]; {
		case err == nil:
			m.Status = StatusSent
		case errors.As(err, &de) && de.Permanent:
			m.Status, m.Error = StatusFailed, err.Error()
		default:
			if retry == nil {
				retry = err
			}
			continue
		}
		done = append(done, m.Notification)
	}
	if err := recordBatch(ctx, db, b, done); err != nil {
		return res, err
	}
	for _, n := range done {
		if n.Status == StatusSent {
			res.Sent[n.Channel]++
		} else {
			res.Failed[n.Channel]++
		}
	}
	return res, retry
}

// unrecorded drops the messages whose key the ledger holds already.
func unrecorded(ctx context.Context, db *sqlx.DB, msgs []Outgoing) ([]Outgoing, error) {
	keys := make([]string, len(msgs))
	for i, m := range msgs {
		keys[i] = m.IdempotencyKey
	}
	var have []string
	if err := db.SelectContext(ctx, &have, `SELECT idempotency_key FROM notifications WHERE idempotency_key = ANY($1)`, pq.StringArray(keys)); err != nil {
		return nil, fmt.Errorf("look up a batch's notifications: %w", err)
	}
	recorded := make(map[string]bool, len(have))
	for _, k := range have {
		recorded[k] = true
	}
	out := make([]Outgoing, 0, len(msgs))
	for _, m := range msgs {
		if !recorded[m.IdempotencyKey] {
			out = append(out, m)
		}
	}
	return out, nil
}

// sendSlack posts one DM, waiting out Slack's rate limit as often as it
// answers 429 (its Retry-After), for as long as ctx allows.
func sendSlack(ctx context.Context, sl *Slack, m *Outgoing) error {
	if sl == nil {
		return errors.New("Slack messages in a batch, and no Slack client")
	}
	for {
		ref, err := sl.DirectMessage(ctx, m.Address, m.SlackText, m.SlackBlocks...)
		var de *DeliveryError
		if !errors.As(err, &de) || de.RetryAfter <= 0 {
			m.ProviderRef = ref.String()
			return err
		}
		select {
		case <-time.After(de.RetryAfter):
		case <-ctx.Done():
			return err
		}
	}
}

// recordBatch inserts the batch's notifications in one statement (keys
// already taken are skipped) and audits the batch once, in one transaction.
func recordBatch(ctx context.Context, db *sqlx.DB, b Batch, done []Notification) error {
	if len(done) == 0 {
		return nil
	}
	cols := map[string][]string{}
	for _, n := range done {
		for col, v := range map[string]string{"key": n.IdempotencyKey, "channel": n.Channel, "recipient": n.RecipientID,
			"address": n.Address, "purpose": n.Purpose, "task": n.TaskID, "status": n.Status, "error": n.Error, "ref": n.ProviderRef} {
			cols[col] = append(cols[col], v)
		}
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var inserted []string
	if err := tx.SelectContext(ctx, &inserted, `
		INSERT INTO notifications (idempotency_key, channel, recipient_id, address, purpose, task_id, status, error, provider_ref)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING idempotency_key`,
		pq.StringArray(cols["key"]), pq.StringArray(cols["channel"]), pq.StringArray(cols["recipient"]), pq.StringArray(cols["address"]),
		pq.StringArray(cols["purpose"]), pq.StringArray(cols["task"]), pq.StringArray(cols["status"]), pq.StringArray(cols["error"]),
		pq.StringArray(cols["ref"])); err != nil {
		return fmt.Errorf("record a batch of %d notifications: %w", len(done), err)
	}
	if len(inserted) > 0 {
		type line struct {
			Key       string `json:"key"`
			Channel   string `json:"channel"`
			Recipient string `json:"recipient"`
			Status    string `json:"status"`
			Error     string `json:"error,omitempty"`
		}
		now := make(map[string]bool, len(inserted))
		for _, k := range inserted {
			now[k] = true
		}
		lines := make([]line, 0, len(inserted))
		for _, n := range done {
			if now[n.IdempotencyKey] {
				lines = append(lines, line{n.IdempotencyKey, n.Channel, n.RecipientID, n.Status, n.Error})
			}
		}
		// The key covers exactly the messages recorded now: a retry that
		// records the rest of a batch is a second entry, not a lost one.
		sum := sha256.New()
		for _, k := range inserted {
			sum.Write([]byte(k + "\n"))
		}
		if err := audit.Write(ctx, tx, audit.Entry{Actor: b.Actor, Action: b.Action, Subject: b.Subject, Controls: b.Controls,
			Key:    b.Key + "/" + hex.EncodeToString(sum.Sum(nil))[:16],
			Detail: map[string]any{"messages": lines, "recorded": len(inserted)}}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Recorded counts the messages under keys the ledger holds as sent and as
// failed: what a batch amounts to however many attempts it took.
func Recorded(ctx context.Context, db sqlx.QueryerContext, keys []string) (sent, failed int, err error) {
	err = db.QueryRowxContext(ctx, `
		SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed')
		FROM notifications WHERE idempotency_key = ANY($1)`, pq.StringArray(keys)).Scan(&sent, &failed)
	return sent, failed, err
}
