package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Entry is one step of a process. It is written once per control it
// evidences (or once with no control), each row idempotent under Key.
type Entry struct {
	Actor    string
	Action   string
	Subject  string
	Controls []string
	Detail   any
	Key      string // empty: not idempotent (a person's one-off command)
}

// Write appends e to the hash-chained audit log: the one writer of
// audit_log, so every step of every process is chained the same way.
func Write(ctx context.Context, q sqlx.ExecerContext, e Entry) error {
	return WriteBatch(ctx, q, []Entry{e})
}

// WriteBatch appends entries in order, with Write's rows (one per control,
// each idempotent under Key + "#" + control), in one INSERT: the chain's
// lock (schema/0006_audit_chain.sql) is then taken once for the batch, so a
// caller recording many steps in one transaction (the portal's signatures,
// issue 11 item 9) pays one round trip, not one per row.
func WriteBatch(ctx context.Context, q sqlx.ExecerContext, entries []Entry) error {
	var actors, actions, subjects, controlIDs, details []string
	var keys []sql.NullString // NULL: no idempotency key
	for _, e := range entries {
		detail, err := json.Marshal(e.Detail)
		if err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
		controls := e.Controls
		if len(controls) == 0 {
			controls = []string{""}
		}
		for _, c := range controls {
			var key sql.NullString
			if e.Key != "" {
				key = sql.NullString{String: e.Key, Valid: true}
				if c != "" {
					key.String += "#" + c
				}
			}
			actors, actions, subjects = append(actors, e.Actor), append(actions, e.Action), append(subjects, e.Subject)
			controlIDs, details, keys = append(controlIDs, c), append(details, string(detail)), append(keys, key)
		}
	}
	if len(actors) == 0 {
		return nil
	}
	// WITH ORDINALITY ... ORDER BY keeps the entries' order in the chain.
	if _, err := q.ExecContext(ctx, `
		INSERT INTO audit_log (actor, action, subject, control_id, detail, idempotency_key)
		SELECT actor, action, subject, control_id, detail::jsonb, idempotency_key
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
		     WITH ORDINALITY AS e(actor, action, subject, control_id, detail, idempotency_key, n)
		ORDER BY n
		ON CONFLICT (idempotency_key) DO NOTHING`,
		pq.Array(actors), pq.Array(actions), pq.Array(subjects), pq.Array(controlIDs), pq.Array(details), pq.Array(keys)); err != nil {
		if len(entries) > 1 {
			return fmt.Errorf("audit %s and %d more entries: %w", entries[0].Action, len(entries)-1, err)
		}
		return fmt.Errorf("audit %s: %w", entries[0].Action, err)
	}
	return nil
}
