package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
)

const goodPassword = "Correct-Horse-42"

func TestCheckPasswordNamesEveryRuleBroken(t *testing.T) {
	for pw, want := range map[string]string{
		"short1A!":                 "at least 12 characters",
		"alllowercase1!":           "an upper-case letter",
		"ALLUPPERCASE1!":           "a lower-case letter",
		"NoDigitsHere!!":           "a digit",
		"NoSpecials12345":          "a special character",
		"Password2024!":            "most common passwords",
		strings.Repeat("Aa1!", 19): "at most 72 bytes",
	} {
		err := accounts.CheckPassword(pw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPassword(%q) = %v, want it to say %q", pw, err, want)
		}
	}
	if err := accounts.CheckPassword(goodPassword); err != nil {
		t.Errorf("CheckPassword(%q) = %v, want nil", goodPassword, err)
	}
}

// setup makes an officer with a TOTP secret and an employee without one.
func setup(t *testing.T) (*testenv.DB, string) {
	t.Helper()
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'), ('eve', 'eve@example.com', 'Eve Employee')`)
	key, err := accounts.NewTOTPSecret("sam@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := accounts.Provision(ctx, db.App, accounts.New{PersonID: "sam", Role: "officer", By: "test"}, goodPassword, key.Secret()); err != nil {
		t.Fatal(err)
	}
	if err := accounts.Provision(ctx, db.App, accounts.New{PersonID: "eve", Role: "employee", By: "test"}, goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	return db, key.Secret()
}

func auditCount(t *testing.T, db *testenv.DB, action, detailKey, detailValue string) int {
	t.Helper()
	var n int
	db.Owner.Get(&n, `SELECT count(*) FROM audit_log WHERE action = $1 AND ($2 = '' OR detail->>$2 = $3)`, action, detailKey, detailValue)
	return n
}

func TestSignInRefusesWrongPasswordMissingAndReplayedCodesAudited(t *testing.T) {
	db, secret := setup(t)
	ctx := context.Background()
	signIn := func(email, pw, code string) error {
		_, err := accounts.SignIn(ctx, db.App, accounts.Attempt{Email: email, Password: pw, Code: code, Address: "192.0.2.1"})
		return err
	}
	if err := signIn("eve@example.com", "Wrong-Horse-42", ""); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := signIn("nobody@example.com", goodPassword, ""); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("unknown email: %v", err)
	}
	if err := signIn("EVE@example.com", goodPassword, ""); err != nil {
		t.Fatalf("employee without a second factor, email in another case: %v", err)
	}
	if err := signIn("sam@example.com", goodPassword, ""); !errors.Is(err, accounts.ErrMFARequired) {
		t.Fatalf("officer without a code: %v", err)
	}
	code, _ := accounts.TOTPCode(secret, time.Now())
	if err := signIn("sam@example.com", goodPassword, code); err != nil {
		t.Fatalf("officer with a code: %v", err)
	}
	if err := signIn("sam@example.com", goodPassword, code); !errors.Is(err, accounts.ErrReplayedCode) {
		t.Fatalf("the same code again: %v", err)
	}
	if err := signIn("sam@example.com", goodPassword, "000000"); !errors.Is(err, accounts.ErrBadCode) {
		t.Fatalf("a wrong code: %v", err)
	}
	for reason, want := range map[string]int{"wrong password": 1, "no account has this email": 1, "authentication code missing": 1,
		"authentication code already used": 1, "authentication code wrong": 1} {
		if n := auditCount(t, db, "signin.failed", "reason", reason); n != want {
			t.Errorf("signin.failed %q audited %d times, want %d", reason, n, want)
		}
	}
	if n := auditCount(t, db, "signin.succeeded", "", ""); n != 2 {
		t.Errorf("signin.succeeded audited %d times, want 2", n)
	}
}

func TestRepeatedFailuresLockTheAccountEvenForTheRightPassword(t *testing.T) {
	db, _ := setup(t)
	ctx := context.Background()
	for i := range accounts.MaxFailures {
		if _, err := accounts.SignIn(ctx, db.App, accounts.Attempt{Email: "eve@example.com", Password: "Wrong-Horse-42"}); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := accounts.SignIn(ctx, db.App, accounts.Attempt{Email: "eve@example.com", Password: goodPassword}); !errors.Is(err, accounts.ErrLocked) {
		t.Fatalf("right password on a locked account: %v, want ErrLocked", err)
	}
	if n := auditCount(t, db, "account.locked", "", ""); n != 1 {
		t.Errorf("account.locked audited %d times, want 1", n)
	}
}

func TestRecoveryCodeWorksOnceAndInvitationLinkOnce(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('ada', 'ada@example.com', 'Ada Admin')`)
	ctx := context.Background()
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("a test signing key of 32 bytes..")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.Create(ctx, db.App, accounts.New{PersonID: "ada", Role: "admin", By: "test"}); err != nil {
		t.Fatal(err)
	}
	url, _, err := accounts.IssueLink(ctx, db.App, signer, "http://portal.test", "ada", accounts.Invite, "test")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimPrefix(url, "http://portal.test"+accounts.LinkPath)
	l, err := accounts.OpenLink(ctx, db.App, signer, token)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := accounts.NewTOTPSecret("ada@example.com")
	if _, err := accounts.CompleteLink(ctx, db.App, l, accounts.Completion{Password: goodPassword}); err == nil || !strings.Contains(err.Error(), "authentication code") {
		t.Fatalf("an admin's invitation without enrolling a second factor: %v, want refused", err)
	}
	code, _ := accounts.TOTPCode(key.Secret(), time.Now())
	recovery, err := accounts.CompleteLink(ctx, db.App, l, accounts.Completion{Password: goodPassword, TOTPSecret: key.Secret(), Code: code})
	if err != nil || len(recovery) != 10 {
		t.Fatalf("complete the invitation: %v, %d recovery codes", err, len(recovery))
	}
	if _, err := accounts.OpenLink(ctx, db.App, signer, token); !errors.Is(err, accounts.ErrLinkUsed) {
		t.Fatalf("the invitation opened again: %v, want ErrLinkUsed", err)
	}
	if _, err := accounts.CompleteLink(ctx, db.App, l, accounts.Completion{Password: goodPassword, TOTPSecret: key.Secret(), Code: code}); !errors.Is(err, accounts.ErrLinkUsed) {
		t.Fatalf("the invitation completed again: %v, want ErrLinkUsed", err)
	}
	for i, want := range []error{nil, accounts.ErrBadCode} {
		_, err := accounts.SignIn(ctx, db.App, accounts.Attempt{Email: "ada@example.com", Password: goodPassword, Code: recovery[0]})
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Fatalf("recovery code use %d: %v, want %v", i+1, err, want)
		}
	}
	if n := auditCount(t, db, "account.mfa_enrolled", "", ""); n != 1 {
		t.Errorf("account.mfa_enrolled audited %d times, want 1", n)
	}
}

func TestAuditorOutsideTheirWindowIsRefusedAndTheirSessionEnds(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('aud', 'aud@example.com', 'Aud Itor')`)
	ctx := context.Background()
	if err := accounts.Create(ctx, db.App, accounts.New{PersonID: "aud", Role: "auditor", By: "test"}); err == nil {
		t.Fatal("an auditor without --valid-until was created")
	}
	until := time.Now().Add(time.Hour)
	key, _ := accounts.NewTOTPSecret("aud@example.com")
	if err := accounts.Provision(ctx, db.App, accounts.New{PersonID: "aud", Role: "auditor", ValidUntil: &until, AuditFrom: "2025-01-01", AuditTo: "2025-12-31", By: "test"},
		goodPassword, key.Secret()); err != nil {
		t.Fatal(err)
	}
	code, _ := accounts.TOTPCode(key.Secret(), time.Now())
	if _, err := accounts.SignIn(ctx, db.App, accounts.Attempt{Email: "aud@example.com", Password: goodPassword, Code: code}); err != nil {
		t.Fatalf("auditor inside the window: %v", err)
	}
	token, err := accounts.StartSession(ctx, db.App, "aud", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.LookupSession(ctx, db.App, token); err != nil {
		t.Fatalf("session inside the window: %v", err)
	}
	db.Owner.MustExec(`UPDATE accounts SET valid_from = now() - interval '2 days', valid_until = now() - interval '1 second' WHERE person_id = 'aud'`)
	if _, err := accounts.LookupSession(ctx, db.App, token); !errors.Is(err, accounts.ErrNoSession) {
		t.Fatalf("session after the window: %v, want ErrNoSession", err)
	}
	code, _ = accounts.TOTPCode(key.Secret(), time.Now().Add(30*time.Second))
	if _, err := accounts.SignIn(ctx, db.App, accounts.Attempt{Email: "aud@example.com", Password: goodPassword, Code: code}); !errors.Is(err, accounts.ErrOutsideWindow) {
		t.Fatalf("sign-in after the window: %v, want ErrOutsideWindow", err)
	}
}
