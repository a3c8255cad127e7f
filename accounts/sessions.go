package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/audit"
)

// Session timeouts (issue 15 item 2): a session unused for IdleTimeout, or
// older than AbsoluteTimeout, is over whatever happens in it.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
)

// Session is a signed-in person's session, as each request reads it.
type Session struct {
	// ID is the SHA-256 of the cookie's token: the database never holds the token.
	ID       string `db:"id"`
	PersonID string `db:"person_id"`
	Role     string `db:"role"`
}

// ErrNoSession: the token names no live session (unknown, revoked, timed
// out), or its account may not be used now.
var ErrNoSession = errors.New("no session")

// StartSession records a new session for the person and returns the token
// for their cookie.
func StartSession(ctx context.Context, db sqlx.ExecerContext, personID, address string) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	_, err := db.ExecContext(ctx, `INSERT INTO sessions (id, person_id, address) VALUES ($1, $2, $3)`, sessionID(token), personID, address)
	return token, err
}

func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// LookupSession is the live session of token, its last use moved to now.
// The account's validity window is checked on every request, so an auditor's
// session ends when their window does (refused "and any request" outside it).
func LookupSession(ctx context.Context, db *sqlx.DB, token string) (Session, error) {
	var s Session
	err := db.GetContext(ctx, &s, `
		UPDATE sessions s SET last_seen_at = now()
		FROM accounts a
		WHERE s.id = $1 AND a.person_id = s.person_id AND s.revoked_at IS NULL
		  AND s.last_seen_at > now() - $2 * interval '1 second'
		  AND s.created_at > now() - $3 * interval '1 second'
		  AND NOT a.disabled AND a.valid_from <= now() AND (a.valid_until IS NULL OR a.valid_until > now())
		RETURNING s.id, s.person_id, a.role`,
		sessionID(token), IdleTimeout.Seconds(), AbsoluteTimeout.Seconds())
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	return s, err
}

// EndSession revokes a session (sign-out), audited.
func EndSession(ctx context.Context, db *sqlx.DB, s Session, address string) error {
	if _, err := db.ExecContext(ctx, `UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, s.ID); err != nil {
		return err
	}
	return audit.Write(ctx, db, audit.Entry{Actor: s.PersonID, Action: "signout", Subject: s.PersonID,
		Detail: map[string]string{"address": address}})
}
