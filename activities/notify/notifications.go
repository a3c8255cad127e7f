// Package notify reaches people for every process: email over SMTP (Mailer),
// Slack (Slack), and the notifications ledger that sends each message once
// under its idempotency key (SendOnce).
package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
	"go.temporal.io/sdk/temporal"
)

// Notification channels and statuses, as the notifications table spells them.
const (
	ChannelEmail = "email"
	ChannelSlack = "slack"
	StatusSent   = "sent"
	StatusFailed = "failed"
	// StatusUnavailable: the person has no address on this channel (or the
	// channel is not configured); nothing was attempted. Never recorded.
	StatusUnavailable = "unavailable"
)

// Notification is one message sent, or refused for good, as recorded in the
// notifications table.
type Notification struct {
	// IdempotencyKey names the message by its purpose in the workflow, never
	// by the activity attempt (see NotificationKey).
	IdempotencyKey string `db:"idempotency_key"`
	Channel        string `db:"channel"`
	RecipientID    string `db:"recipient_id"` // a person ID, when the recipient is one
	Address        string `db:"address"`      // email address, Slack user or channel ID
	Purpose        string `db:"purpose"`      // e.g. "assigned", "reminder/2", "policy-announcement"
	TaskID         string `db:"task_id"`
	Status         string `db:"status"`
	Error          string `db:"error"`
	ProviderRef    string `db:"provider_ref"` // Message-ID, or Slack "channel/ts"
}

// NotificationKey joins the parts that make a message unique — typically the
// workflow ID, the purpose with its reminder number, the channel and the
// recipient — into an idempotency key.
func NotificationKey(parts ...string) string { return strings.Join(parts, "/") }

// RecordNotification inserts n unless its idempotency key is already recorded,
// and returns the row as stored: the earlier one when the key was taken. A new
// row is written to the audit log in the same transaction, under
// "notification/<key>", evidencing each of its task's controls when it is about a
// task. The ledger is append-only: a row, once recorded, is never changed.
func RecordNotification(ctx context.Context, db *sqlx.DB, n Notification) (Notification, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Notification{}, err
	}
	defer tx.Rollback()
	query, args, err := sqlx.Named(`
		WITH inserted AS (
			INSERT INTO notifications (idempotency_key, channel, recipient_id, address, purpose, task_id, status, error, provider_ref)
			VALUES (:idempotency_key, :channel, :recipient_id, :address, :purpose, :task_id, :status, :error, :provider_ref)
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING `+notificationColumns+`)
		SELECT `+notificationColumns+`, true AS inserted,
			coalesce((SELECT control_ids FROM tasks WHERE id = inserted.task_id), '{}') AS control_ids FROM inserted
		UNION ALL
		SELECT `+notificationColumns+`, false, '{}' FROM notifications
			WHERE idempotency_key = :idempotency_key AND NOT EXISTS (SELECT FROM inserted)`, n)
	if err != nil {
		return Notification{}, err
	}
	var stored struct {
		Notification
		Inserted   bool           `db:"inserted"`
		ControlIDs pq.StringArray `db:"control_ids"`
	}
	if err := tx.GetContext(ctx, &stored, tx.Rebind(query), args...); err != nil {
		return Notification{}, fmt.Errorf("record notification %s: %w", n.IdempotencyKey, err)
	}
	if stored.Inserted {
		subject := stored.TaskID
		if subject == "" {
			subject = stored.IdempotencyKey
		}
		if err := audit.Write(ctx, tx, audit.Entry{Actor: "complyflow", Action: "notification." + stored.Status, Subject: subject,
			Controls: stored.ControlIDs, Key: "notification/" + stored.IdempotencyKey,
			Detail: map[string]any{"key": stored.IdempotencyKey, "channel": stored.Channel, "recipient": stored.RecipientID,
				"address": stored.Address, "purpose": stored.Purpose, "task": stored.TaskID, "error": stored.Error,
				"provider_ref": stored.ProviderRef}}); err != nil {
			return Notification{}, fmt.Errorf("record notification %s: %w", n.IdempotencyKey, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Notification{}, fmt.Errorf("record notification %s: %w", n.IdempotencyKey, err)
	}
	return stored.Notification, nil
}

const notificationColumns = "idempotency_key, channel, recipient_id, address, purpose, task_id, status, error, provider_ref"

// LookupNotification returns the notification recorded under key, if any.
func LookupNotification(ctx context.Context, db sqlx.QueryerContext, key string) (Notification, bool, error) {
	var n Notification
	err := sqlx.GetContext(ctx, db, &n, `SELECT `+notificationColumns+` FROM notifications WHERE idempotency_key = $1`, key)
	if errors.Is(err, sql.ErrNoRows) {
		return Notification{}, false, nil
	}
	if err != nil {
		return Notification{}, false, fmt.Errorf("look up notification %s: %w", key, err)
	}
	return n, true, nil
}

// DeliveryError is a failed send, classified. A Permanent one (the recipient
// refused: SMTP 5xx to RCPT, an unknown Slack user) is recorded and not
// retried. A Misconfigured one (no TLS for the credentials, an unparsable
// SMTP_FROM) is not recorded: a human-task notice fails without retries and
// the next reminder tries again (ActivityError); an announcement is retried
// until the configuration is fixed and the worker restarted
// (MustSendActivityError). Any other (the server refusing everyone: bad
// credentials, a refused sender, 4xx, the network) is retried, after
// RetryAfter when the provider said so (Slack 429).
type DeliveryError struct {
	Permanent     bool
	Misconfigured bool
	RetryAfter    time.Duration
	Err           error
}

func (e *DeliveryError) Error() string { return e.Err.Error() }
func (e *DeliveryError) Unwrap() error { return e.Err }

// SendOnce sends the message n describes unless its key is already recorded,
// in which case it returns the recorded row and sends nothing. send fills in
// n's Address and ProviderRef. A permanent DeliveryError is recorded as a
// failed notification and returned as the row (no error); any other error is
// returned unrecorded, for the caller to retry.
//
// A crash between a send and its record sends again on retry: at least once,
// which the Message-ID derived from the key lets mail clients collapse.
func SendOnce(ctx context.Context, db *sqlx.DB, n Notification, send func(ctx context.Context, n *Notification) error) (Notification, error) {
	if rec, ok, err := LookupNotification(ctx, db, n.IdempotencyKey); err != nil || ok {
		return rec, err
	}
	err := send(ctx, &n)
	var de *DeliveryError
	switch {
	case err == nil:
		n.Status = StatusSent
	case errors.As(err, &de) && de.Permanent:
		n.Status, n.Error = StatusFailed, err.Error()
	default:
		return Notification{}, err
	}
	return RecordNotification(ctx, db, n)
}

// ActivityError is how an activity should return a send error to Temporal: a
// rate limit becomes a retryable error whose next attempt waits RetryAfter,
// and a misconfiguration a non-retryable error (type DeliveryMisconfigured).
func ActivityError(err error) error { return activityError(err, true) }

// MustSendActivityError is ActivityError for a message that must go out in
// the end, however long that takes, e.g. the announcement of a version
// already published: a misconfiguration is typed DeliveryMisconfigured but
// left to the caller's retry policy, which keeps trying until the
// configuration is fixed.
func MustSendActivityError(err error) error { return activityError(err, false) }

func activityError(err error, misconfigurationIsFinal bool) error {
	var de *DeliveryError
	switch {
	case errors.As(err, &de) && de.Misconfigured:
		return temporal.NewApplicationErrorWithOptions(err.Error(), "DeliveryMisconfigured",
			temporal.ApplicationErrorOptions{NonRetryable: misconfigurationIsFinal, Cause: err})
	case errors.As(err, &de) && de.RetryAfter > 0:
		return temporal.NewApplicationErrorWithOptions(err.Error(), "RateLimited",
			temporal.ApplicationErrorOptions{NextRetryDelay: de.RetryAfter, Cause: err})
	}
	return err
}
