package accounts

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/audit"
)

// Provision creates an account with its password and TOTP secret set
// directly, without an invitation: for the demo (`make run` prints each
// demo sign-in) and tests, never for real people, whose passwords only they
// choose (IssueLink). An empty totpSecret enrols no second factor.
func Provision(ctx context.Context, db *sqlx.DB, n New, password, totpSecret string) error {
	if err := Create(ctx, db, n); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `UPDATE accounts SET password_hash = $2, totp_secret = $3 WHERE person_id = $1`,
		n.PersonID, hash, totpSecret); err != nil {
		return fmt.Errorf("set the credentials of %s: %w", n.PersonID, err)
	}
	return audit.Write(ctx, db, audit.Entry{Actor: n.By, Action: "account.provisioned", Subject: n.PersonID,
		Detail: map[string]bool{"totp": totpSecret != ""}})
}
