package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/audit"
)

// The portal roles (portal/principal.go gives each its rights).
var Roles = []string{"employee", "manager", "officer", "auditor", "admin"}

// RequiresMFA says whether a role must sign in with a second factor: the
// issue requires TOTP for officers, auditors and admins (security
// architecture: "strong multi-factor authentication").
func RequiresMFA(role string) bool {
	return role == "officer" || role == "auditor" || role == "admin"
}

// Account is one person's account as the sign-in reads it.
type Account struct {
	PersonID      string         `db:"person_id"`
	Email         string         `db:"email"`
	Name          string         `db:"name"`
	Role          string         `db:"role"`
	PasswordHash  string         `db:"password_hash"`
	TOTPSecret    string         `db:"totp_secret"`
	TOTPLastStep  int64          `db:"totp_last_step"`
	FailedSignins int            `db:"failed_signins"`
	LockedUntil   sql.NullTime   `db:"locked_until"`
	ValidFrom     time.Time      `db:"valid_from"`
	ValidUntil    sql.NullTime   `db:"valid_until"`
	AuditFrom     sql.NullString `db:"audit_from"`
	AuditTo       sql.NullString `db:"audit_to"`
	Disabled      bool           `db:"disabled"`
}

// usableAt says whether the account may be used at t: not disabled, and
// within its validity window (an auditor's is always bounded).
func (a Account) usableAt(t time.Time) bool {
	return !a.Disabled && !t.Before(a.ValidFrom) && (!a.ValidUntil.Valid || t.Before(a.ValidUntil.Time))
}

const accountColumns = `a.person_id, p.email, p.name, a.role, a.password_hash, a.totp_secret, a.totp_last_step,
	a.failed_signins, a.locked_until, a.valid_from, a.valid_until, a.audit_from::text, a.audit_to::text, a.disabled`

// Lookup is the account of a person.
func Lookup(ctx context.Context, q sqlx.QueryerContext, personID string) (Account, error) {
	var a Account
	err := sqlx.GetContext(ctx, q, &a, `SELECT `+accountColumns+` FROM accounts a JOIN people p ON p.id = a.person_id WHERE a.person_id = $1`, personID)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNoAccount
	}
	return a, err
}

// ErrNoAccount: the person has no account.
var ErrNoAccount = errors.New("no account")

// New is an account to create.
type New struct {
	PersonID string
	Role     string
	// ValidUntil bounds the account; required for an auditor.
	ValidUntil *time.Time
	// AuditFrom and AuditTo (YYYY-MM-DD) are an auditor's audit period, optional.
	AuditFrom, AuditTo string
	// By is who creates it (audited).
	By string
}

// Create makes the account, with no password yet: the person sets it from
// their invitation link. Bad input is refused with the reason and writes
// nothing.
func Create(ctx context.Context, db *sqlx.DB, n New) error {
	if !slices.Contains(Roles, n.Role) {
		return fmt.Errorf("role %q: want one of %v", n.Role, Roles)
	}
	if n.Role == "auditor" && n.ValidUntil == nil {
		return errors.New("an auditor's account needs --valid-until: auditor access is time-boxed")
	}
	var email string
	err := db.GetContext(ctx, &email, `SELECT email FROM people WHERE id = $1 AND (end_date IS NULL OR end_date >= current_date)`, n.PersonID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("person %q is not in the workforce (import them first, or they have left)", n.PersonID)
	}
	if err != nil {
		return err
	}
	if email == "" {
		return fmt.Errorf("person %q has no email address: the invitation goes by email", n.PersonID)
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO accounts (person_id, role, valid_until, audit_from, audit_to)
		VALUES ($1, $2, $3, nullif($4, '')::date, nullif($5, '')::date) ON CONFLICT (person_id) DO NOTHING`,
		n.PersonID, n.Role, n.ValidUntil, n.AuditFrom, n.AuditTo)
	if err != nil {
		return fmt.Errorf("create the account: %w", err)
	}
	if rows, _ := res.RowsAffected(); rows == 0 {
		return fmt.Errorf("person %q already has an account (send a reset instead)", n.PersonID)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: n.By, Action: "account.created", Subject: n.PersonID,
		Detail: map[string]any{"role": n.Role, "valid_until": n.ValidUntil, "audit_from": n.AuditFrom, "audit_to": n.AuditTo}}); err != nil {
		return err
	}
	return tx.Commit()
}

// SetRole changes a person's role, audited (the issue: "every ... role
// change written through the audit log"). Their open sessions are revoked:
// the next request signs in under the new role.
func SetRole(ctx context.Context, db *sqlx.DB, personID, role, by string) error {
	if !slices.Contains(Roles, role) {
		return fmt.Errorf("role %q: want one of %v", role, Roles)
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var old string
	if err := tx.GetContext(ctx, &old, `SELECT role FROM accounts WHERE person_id = $1 FOR UPDATE`, personID); errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("person %q has no account", personID)
	} else if err != nil {
		return err
	}
	if role == "auditor" {
		return errors.New("an auditor's account is made by `users invite --role auditor --valid-until ...`, not by a role change")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET role = $2 WHERE person_id = $1`, personID, role); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL`, personID); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: by, Action: "account.role_changed", Subject: personID,
		Detail: map[string]string{"from": old, "to": role}}); err != nil {
		return err
	}
	return tx.Commit()
}
