// Package audit checks the audit log's hash chain: each row's hash covers its
// content and the hash of the row before it, so an edited, deleted or
// reordered row breaks the chain from that row on.
package audit

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Break is the first row whose hash or link does not verify.
type Break struct {
	ID     int64
	Reason string
}

func (b *Break) Error() string { return fmt.Sprintf("audit_log row %d: %s", b.ID, b.Reason) }

// Verify walks the whole log in order and returns how many rows it checked,
// and a *Break for the first row that fails.
func Verify(ctx context.Context, db *sqlx.DB) (int, error) {
	rows, err := db.QueryxContext(ctx, `
		SELECT id,
		       hash = audit_log_hash(prev_hash, at, actor, action, subject, control_id, detail) AS content_ok,
		       prev_hash = coalesce(lag(hash) OVER (ORDER BY id), '\x'::bytea) AS link_ok
		FROM audit_log ORDER BY id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var contentOK, linkOK bool
		if err := rows.Scan(&id, &contentOK, &linkOK); err != nil {
			return n, err
		}
		switch {
		case !contentOK:
			return n, &Break{ID: id, Reason: "content does not match its hash (edited)"}
		case !linkOK:
			return n, &Break{ID: id, Reason: "does not follow the row before it (a row was removed or reordered)"}
		}
		n++
	}
	return n, rows.Err()
}
