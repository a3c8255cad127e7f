package audit

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
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
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return err
	}
	controls := e.Controls
	if len(controls) == 0 {
		controls = []string{""}
	}
	for _, c := range controls {
		var key any // NULL: no idempotency key
		if e.Key != "" {
			k := e.Key
			if c != "" {
				k += "#" + c
			}
			key = k
		}
		if _, err := q.ExecContext(ctx, `
			INSERT INTO audit_log (actor, action, subject, control_id, detail, idempotency_key)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING`,
			e.Actor, e.Action, e.Subject, c, detail, key); err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
	}
	return nil
}
