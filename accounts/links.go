package accounts

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/links"
)

// Purpose is what an emailed account link is for.
type Purpose string

const (
	// Invite: set the first password (and the second factor) of a new account.
	Invite Purpose = "invite"
	// Reset: set a new password; the second factor stays.
	Reset Purpose = "reset"
)

// How long a link works: an invitation for days (it may wait over a
// weekend), a reset for an hour.
var linkTTL = map[Purpose]time.Duration{Invite: 72 * time.Hour, Reset: time.Hour}

// LinkPath is where the portal serves the account links.
const LinkPath = "/account/link/"

const linkSubjectPrefix = "account-link/"

// IssueLink records a single-use link for the person's account and returns
// its URL under baseURL, signed with signer so it cannot be made or altered
// without the key. The caller emails it; it is audited here.
func IssueLink(ctx context.Context, db *sqlx.DB, signer *links.Signer, baseURL, personID string, purpose Purpose, by string) (string, time.Time, error) {
	raw := make([]byte, 16)
	rand.Read(raw)
	id := hex.EncodeToString(raw)
	expires := time.Now().Add(linkTTL[purpose]).Truncate(time.Second)
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO account_links (id, person_id, purpose, expires_at) VALUES ($1, $2, $3, $4)`,
		id, personID, string(purpose), expires); err != nil {
		return "", time.Time{}, fmt.Errorf("record the %s link: %w", purpose, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: by, Action: "account." + string(purpose) + "_sent", Subject: personID,
		Detail: map[string]string{"link": id, "expires": expires.UTC().Format(time.RFC3339)}}); err != nil {
		return "", time.Time{}, err
	}
	if err := tx.Commit(); err != nil {
		return "", time.Time{}, err
	}
	token := signer.Sign(links.Claims{Subject: linkSubjectPrefix + id, PersonID: personID, Expires: expires})
	return strings.TrimRight(baseURL, "/") + LinkPath + token, expires, nil
}

// Link is an open account link: whose, what for, and what the page asks.
type Link struct {
	ID      string
	Purpose Purpose
	Account Account
}

// ErrLinkUsed: the link was used already, or is unknown.
var ErrLinkUsed = errors.New("this link was already used; ask for a new one")

// OpenLink checks a link's token: its signature and expiry, and that it has
// not been used.
func OpenLink(ctx context.Context, db *sqlx.DB, signer *links.Signer, token string) (Link, error) {
	c, err := signer.Verify(token)
	if err != nil {
		return Link{}, err
	}
	id, ok := strings.CutPrefix(c.Subject, linkSubjectPrefix)
	if !ok {
		return Link{}, links.ErrMalformed
	}
	var l Link
	err = db.GetContext(ctx, &l.Purpose, `SELECT purpose FROM account_links
		WHERE id = $1 AND person_id = $2 AND used_at IS NULL AND expires_at > now()`, id, c.PersonID)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, ErrLinkUsed
	}
	if err != nil {
		return Link{}, err
	}
	l.ID = id
	l.Account, err = Lookup(ctx, db, c.PersonID)
	return l, err
}

// Completion is what the person typed on the link's page.
type Completion struct {
	Password string
	// TOTPSecret and Code enrol a second factor: the secret the page showed,
	// and a code from the app proving it was added. Required on an
	// invitation for the roles that need MFA; optional for the others.
	TOTPSecret, Code string
	Address          string
}

// CompleteLink sets the password (and enrols the second factor) and strikes
// the link, in one transaction: a link works once even when two requests
// race. It returns the recovery codes of a new enrolment, to show once.
func CompleteLink(ctx context.Context, db *sqlx.DB, l Link, c Completion) ([]string, error) {
	hash, err := HashPassword(c.Password)
	if err != nil {
		return nil, err
	}
	enrol := l.Purpose == Invite && (c.Code != "" || RequiresMFA(l.Account.Role))
	var step int64
	if enrol {
		if c.Code == "" {
			return nil, BadInput("your role signs in with an authentication code: add the key to your authenticator app and type the code it shows")
		}
		if step = totpStep(c.TOTPSecret, c.Code, time.Now()); step == 0 {
			return nil, BadInput("that authentication code does not match the key: check the app's clock and type the current code")
		}
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE account_links SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now()`, l.ID)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrLinkUsed
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $2, failed_signins = 0, locked_until = NULL WHERE person_id = $1`,
		l.Account.PersonID, hash); err != nil {
		return nil, err
	}
	// A new password ends every session signed in with the old one.
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL`, l.Account.PersonID); err != nil {
		return nil, err
	}
	entries := []audit.Entry{{Actor: l.Account.PersonID, Action: "account.password_set", Subject: l.Account.PersonID,
		Detail: map[string]string{"link": l.ID, "purpose": string(l.Purpose), "address": c.Address}}}
	var codes []string
	if enrol {
		var hashes []string
		codes, hashes = newRecoveryCodes()
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_secret = $2, totp_last_step = $3, recovery_codes = $4 WHERE person_id = $1`,
			l.Account.PersonID, c.TOTPSecret, step, pq.Array(hashes)); err != nil {
			return nil, err
		}
		entries = append(entries, audit.Entry{Actor: l.Account.PersonID, Action: "account.mfa_enrolled", Subject: l.Account.PersonID,
			Detail: map[string]any{"factor": "totp", "recovery_codes": len(codes), "address": c.Address}})
	}
	if err := audit.WriteBatch(ctx, tx, entries); err != nil {
		return nil, err
	}
	return codes, tx.Commit()
}

// LinkEmail is the subject and text of the email carrying an account link.
func LinkEmail(name string, purpose Purpose, url string, expires time.Time) (subject, text string) {
	if purpose == Invite {
		return "Your complyflow account", fmt.Sprintf(`Hello %s,

An account in the complyflow portal was made for you. Open this link to
choose your password (and, if your role needs one, add the authentication
code to your phone's authenticator app). It works once, until %s:

%s

If you did not expect this, tell your security officer.
`, name, expires.UTC().Format("2 Jan 2006 15:04 UTC"), url)
	}
	return "Reset your complyflow password", fmt.Sprintf(`Hello %s,

Someone asked to reset the password of your complyflow account. Open this
link to choose a new one; it works once, until %s:

%s

If it was not you, ignore this email: your password stays as it is.
`, name, expires.UTC().Format("2 Jan 2006 15:04 UTC"), url)
}
