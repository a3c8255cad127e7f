// Package apitoken issues, checks and revokes the bearer tokens of the JSON
// API (issue 16 item 6): created by an admin for an auditor's account,
// expiring, revocable, and usable only inside the account's window
// (schema/0019_api_tokens.sql). The token is shown once; the database keeps
// its SHA-256.
package apitoken

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/audit"
)

// prefix marks a complyflow token, so a leaked one is recognisable (secret
// scanners) and a mistyped header is told apart from a wrong token.
const prefix = "cfat_"

// Issued is a new token: Token is shown once and never stored.
type Issued struct {
	ID      string
	Token   string
	Expires time.Time
}

// Create issues a token acting as person, who must have an auditor's
// account (the API is the auditor's read-only queries), expiring at expires
// and no later than the account itself. Bad input is refused with the reason
// and writes nothing.
func Create(ctx context.Context, db *sqlx.DB, person string, expires time.Time, by string) (Issued, error) {
	a, err := accounts.Lookup(ctx, db, person)
	if errors.Is(err, accounts.ErrNoAccount) {
		return Issued{}, fmt.Errorf("person %q has no account (`starter users invite --role auditor` first)", person)
	}
	if err != nil {
		return Issued{}, err
	}
	if a.Role != "auditor" {
		return Issued{}, fmt.Errorf("person %q is a %s: API tokens are for auditors' accounts", person, a.Role)
	}
	if !expires.After(time.Now()) {
		return Issued{}, fmt.Errorf("expiry %s: already past", expires.Format(time.DateOnly))
	}
	if a.ValidUntil.Valid && expires.After(a.ValidUntil.Time) {
		return Issued{}, fmt.Errorf("expiry %s: after the account's end (%s); a token never outlives its account",
			expires.Format(time.DateOnly), a.ValidUntil.Time.UTC().Format(time.DateOnly))
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := prefix + base64.RawURLEncoding.EncodeToString(b)
	h := hash(token)
	is := Issued{ID: "tok-" + h[:12], Token: token, Expires: expires}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Issued{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (hash, id, person_id, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		h, is.ID, person, by, expires); err != nil {
		return Issued{}, fmt.Errorf("store the token: %w", err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: by, Action: "api_token.created", Subject: person,
		Detail: map[string]any{"token_id": is.ID, "expires_at": expires.UTC()}}); err != nil {
		return Issued{}, err
	}
	return is, tx.Commit()
}

// Revoke ends the token named id at once, audited.
func Revoke(ctx context.Context, db *sqlx.DB, id, by string) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var person string
	err = tx.GetContext(ctx, &person, `UPDATE api_tokens SET revoked_at = now(), revoked_by = $2
		WHERE id = $1 AND revoked_at IS NULL RETURNING person_id`, id, by)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("token %q: no such token, or already revoked", id)
	}
	if err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: by, Action: "api_token.revoked", Subject: person,
		Detail: map[string]string{"token_id": id}}); err != nil {
		return err
	}
	return tx.Commit()
}

// ErrRefused: the token is unknown (or forged), expired or revoked, or its
// account may not be used now (outside the auditor's window, disabled).
var ErrRefused = errors.New("token refused")

// Holder is who a live token acts as.
type Holder struct {
	TokenID  string `db:"id"`
	PersonID string `db:"person_id"`
}

// Check is the holder of token if it may be used now. The account's window
// is checked on every request, as a session's is (accounts.LookupSession).
func Check(ctx context.Context, db *sqlx.DB, token string) (Holder, error) {
	var h Holder
	if !strings.HasPrefix(token, prefix) {
		return h, ErrRefused
	}
	err := db.GetContext(ctx, &h, `
		SELECT t.id, t.person_id FROM api_tokens t JOIN accounts a ON a.person_id = t.person_id
		WHERE t.hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND a.role = 'auditor'
		  AND NOT a.disabled AND a.valid_from <= now() AND (a.valid_until IS NULL OR a.valid_until > now())`, hash(token))
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrRefused
	}
	return h, err
}

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
