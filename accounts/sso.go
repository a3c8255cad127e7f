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

// Identity is who an OpenID Connect provider says signed in: its issuer and
// subject, their verified email, and the authentication methods it used
// (the ID token's amr).
type Identity struct {
	Issuer, Subject, Email string
	Methods                []string
	Address                string
}

// ErrSSONoPerson: the verified email is nobody's in the workforce.
var ErrSSONoPerson = errors.New("no one in the workforce has this email")

// ErrSSOWeakFactor: the account's role needs a second factor the provider
// did not report (amr without "mfa", "otp" or "hwk").
var ErrSSOWeakFactor = errors.New("the role needs multi-factor authentication, which the provider did not report")

// SSOSignIn signs in the account linked to the identity. A first single
// sign-on links the account of the person with that email, or makes one
// with the least role, employee (issue 15 item 1: "a first SSO login gets
// the least role"). Every outcome is audited like a password sign-in.
func SSOSignIn(ctx context.Context, db *sqlx.DB, id Identity) (Account, error) {
	at := Attempt{Email: id.Email, Address: id.Address}
	var personID string
	err := db.GetContext(ctx, &personID, `SELECT person_id FROM accounts WHERE oidc_issuer = $1 AND oidc_subject = $2`, id.Issuer, id.Subject)
	if errors.Is(err, sql.ErrNoRows) {
		personID, err = linkSSO(ctx, db, id)
		if errors.Is(err, ErrSSONoPerson) {
			return Account{}, failed(ctx, db, "", at, err, "sso: "+err.Error())
		}
	}
	if err != nil {
		return Account{}, err
	}
	a, err := Lookup(ctx, db, personID)
	if err != nil {
		return Account{}, err
	}
	if !a.usableAt(time.Now()) {
		return Account{}, failed(ctx, db, a.PersonID, at, ErrOutsideWindow, "sso: outside the account's validity window or disabled")
	}
	if RequiresMFA(a.Role) && !slices.ContainsFunc(id.Methods, func(m string) bool { return m == "mfa" || m == "otp" || m == "hwk" }) {
		return Account{}, failed(ctx, db, a.PersonID, at, ErrSSOWeakFactor, "sso: no second factor reported")
	}
	if err := audit.Write(ctx, db, audit.Entry{Actor: a.PersonID, Action: "signin.succeeded", Subject: a.PersonID,
		Detail: map[string]string{"address": id.Address, "factor": "sso", "issuer": id.Issuer, "role": a.Role}}); err != nil {
		return Account{}, err
	}
	return a, nil
}

// linkSSO links the identity to the account of the person with its email,
// making that account (as an employee) when there is none.
func linkSSO(ctx context.Context, db *sqlx.DB, id Identity) (string, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var personID string
	err = tx.GetContext(ctx, &personID, `SELECT id FROM people WHERE lower(email) = lower($1) AND email <> ''
		AND (end_date IS NULL OR end_date >= current_date) ORDER BY id LIMIT 1`, id.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrSSONoPerson
	}
	if err != nil {
		return "", err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO accounts (person_id, role, oidc_issuer, oidc_subject) VALUES ($1, 'employee', $2, $3)
		ON CONFLICT (person_id) DO NOTHING`, personID, id.Issuer, id.Subject)
	if err != nil {
		return "", err
	}
	action, detail := "account.created", map[string]string{"via": "sso", "issuer": id.Issuer, "role": "employee"}
	if n, _ := res.RowsAffected(); n == 0 {
		action, detail = "account.sso_linked", map[string]string{"issuer": id.Issuer}
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET oidc_issuer = $2, oidc_subject = $3 WHERE person_id = $1 AND oidc_subject = ''`,
			personID, id.Issuer, id.Subject)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", fmt.Errorf("the account of %s is linked to another single sign-on identity", personID)
		}
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: personID, Action: action, Subject: personID, Detail: detail}); err != nil {
		return "", err
	}
	return personID, tx.Commit()
}
