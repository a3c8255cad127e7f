package accounts

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
)

// Why a sign-in is refused. The portal shows the person one message for
// every one of them but ErrLocked, so the page does not tell which emails
// have accounts or which half of the credentials was wrong; the audit log
// has the reason.
var (
	ErrBadCredentials = errors.New("wrong email or password")
	ErrLocked         = errors.New("account locked after repeated failures")
	ErrMFARequired    = errors.New("authentication code missing")
	ErrBadCode        = errors.New("authentication code wrong")
	ErrReplayedCode   = errors.New("authentication code already used")
	ErrMFANotEnrolled = errors.New("role requires a second factor that is not enrolled")
	ErrOutsideWindow  = errors.New("account not valid now")
)

// Lockout: after MaxFailures failed sign-ins in a row the account refuses
// every sign-in for LockFor, the right password included (data-security
// policy: accounts locked after repeated failed attempts).
const (
	MaxFailures = 5
	LockFor     = 15 * time.Minute
)

// Attempt is one sign-in: the credentials typed, and where from (audited).
type Attempt struct {
	Email, Password string
	// Code is a TOTP code or a recovery code.
	Code    string
	Address string
}

// SignIn checks an attempt and writes its outcome through the audit log:
// signin.succeeded, or signin.failed with the reason. It returns the account
// signed in to, or one of the Err values above.
func SignIn(ctx context.Context, db *sqlx.DB, at Attempt) (Account, error) {
	now := time.Now()
	var a Account
	err := db.GetContext(ctx, &a, `SELECT `+accountColumns+` FROM accounts a JOIN people p ON p.id = a.person_id
		WHERE lower(p.email) = lower($1) AND p.email <> ''`, strings.TrimSpace(at.Email))
	if errors.Is(err, sql.ErrNoRows) {
		passwordMatches("", at.Password)
		return Account{}, failed(ctx, db, "", at, ErrBadCredentials, "no account has this email")
	}
	if err != nil {
		return Account{}, err
	}
	if a.LockedUntil.Valid && now.Before(a.LockedUntil.Time) {
		return Account{}, failed(ctx, db, a.PersonID, at, ErrLocked, "locked until "+a.LockedUntil.Time.UTC().Format(time.RFC3339))
	}
	if !passwordMatches(a.PasswordHash, at.Password) {
		return Account{}, countFailure(ctx, db, a, at, ErrBadCredentials, "wrong password")
	}
	if !a.usableAt(now) {
		return Account{}, failed(ctx, db, a.PersonID, at, ErrOutsideWindow, "outside the account's validity window or disabled")
	}
	if a.TOTPSecret == "" && RequiresMFA(a.Role) {
		return Account{}, failed(ctx, db, a.PersonID, at, ErrMFANotEnrolled, "no second factor enrolled")
	}
	factor := "password"
	if a.TOTPSecret != "" {
		f, err := checkSecondFactor(ctx, db, a, at.Code, now)
		if err != nil {
			if errors.Is(err, ErrMFARequired) || errors.Is(err, ErrBadCode) || errors.Is(err, ErrReplayedCode) {
				return Account{}, countFailure(ctx, db, a, at, err, err.Error())
			}
			return Account{}, err
		}
		factor = f
	}
	if _, err := db.ExecContext(ctx, `UPDATE accounts SET failed_signins = 0, locked_until = NULL WHERE person_id = $1`, a.PersonID); err != nil {
		return Account{}, err
	}
	if err := audit.Write(ctx, db, audit.Entry{Actor: a.PersonID, Action: "signin.succeeded", Subject: a.PersonID,
		Detail: map[string]string{"address": at.Address, "factor": factor, "role": a.Role}}); err != nil {
		return Account{}, err
	}
	return a, nil
}

// checkSecondFactor accepts a TOTP code for a step later than the last one
// accepted (the UPDATE's condition makes that atomic: two requests with one
// code cannot both pass), or an unused recovery code, struck as it is used.
// It returns which factor it was.
func checkSecondFactor(ctx context.Context, db *sqlx.DB, a Account, code string, now time.Time) (string, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return "", ErrMFARequired
	}
	if step := totpStep(a.TOTPSecret, code, now); step > 0 {
		res, err := db.ExecContext(ctx, `UPDATE accounts SET totp_last_step = $2 WHERE person_id = $1 AND totp_last_step < $2`, a.PersonID, step)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", ErrReplayedCode
		}
		return "totp", nil
	}
	h := hashRecoveryCode(code)
	var left []string
	err := db.GetContext(ctx, pq.Array(&left), `UPDATE accounts SET recovery_codes = array_remove(recovery_codes, $2)
		WHERE person_id = $1 AND $2 = ANY(recovery_codes) RETURNING recovery_codes`, a.PersonID, h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrBadCode
	}
	if err != nil {
		return "", err
	}
	if err := audit.Write(ctx, db, audit.Entry{Actor: a.PersonID, Action: "account.recovery_code_used", Subject: a.PersonID,
		Detail: map[string]int{"recovery_codes_left": len(left)}}); err != nil {
		return "", err
	}
	return "recovery code", nil
}

// countFailure records a failed attempt on the account, locking it at
// MaxFailures, and audits it.
func countFailure(ctx context.Context, db *sqlx.DB, a Account, at Attempt, refusal error, reason string) error {
	var locked bool
	if err := db.GetContext(ctx, &locked, `UPDATE accounts SET failed_signins = failed_signins + 1,
		locked_until = CASE WHEN failed_signins + 1 >= $2 THEN now() + $3 * interval '1 second' ELSE locked_until END
		WHERE person_id = $1 RETURNING locked_until IS NOT NULL AND locked_until > now()`,
		a.PersonID, MaxFailures, LockFor.Seconds()); err != nil {
		return err
	}
	if err := failed(ctx, db, a.PersonID, at, refusal, reason); !errors.Is(err, refusal) {
		return err
	}
	if locked {
		if err := audit.Write(ctx, db, audit.Entry{Actor: a.PersonID, Action: "account.locked", Subject: a.PersonID,
			Detail: map[string]string{"address": at.Address, "for": LockFor.String()}}); err != nil {
			return err
		}
	}
	return refusal
}

// failed audits a refused sign-in and returns refusal (or the audit's error).
func failed(ctx context.Context, db *sqlx.DB, personID string, at Attempt, refusal error, reason string) error {
	if err := audit.Write(ctx, db, audit.Entry{Actor: "portal", Action: "signin.failed", Subject: strings.ToLower(strings.TrimSpace(at.Email)),
		Detail: map[string]string{"person": personID, "reason": reason, "address": at.Address}}); err != nil {
		return err
	}
	return refusal
}
