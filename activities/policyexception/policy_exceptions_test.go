package policyexception

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/internal/testenv"
)

func TestOpenExceptionRefusesOverOneYearAndUndocumented(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	at := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	base := OpenExceptionInput{ID: "exception/1", PolicyID: "access", RequesterID: "eve", Purpose: "legacy VPN for a customer",
		Reason: "the customer's appliance cannot do MFA", At: at}
	for name, tc := range map[string]struct {
		mod  func(*OpenExceptionInput)
		want string
	}{
		"a year and a day": {func(in *OpenExceptionInput) { in.Expires = at.AddDate(1, 0, 1) }, "at most one year after approval"},
		"already expired":  {func(in *OpenExceptionInput) { in.Expires = at.Add(-time.Hour) }, "at most one year after approval"},
		"no purpose":       {func(in *OpenExceptionInput) { in.Expires = at.AddDate(0, 6, 0); in.Purpose = "" }, "business purpose"},
		"no reason":        {func(in *OpenExceptionInput) { in.Expires = at.AddDate(0, 6, 0); in.Reason = " " }, "cannot be met"},
	} {
		in := base
		tc.mod(&in)
		_, err := a.OpenException(context.Background(), in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !isNonRetryable(err) {
			t.Errorf("%s: %v, want a non-retryable error saying %q", name, err, tc.want)
		}
	}
	var n int
	db.App.Get(&n, `SELECT count(*) FROM policy_exceptions`)
	if n != 0 {
		t.Errorf("%d refused exceptions were recorded", n)
	}
}

func TestExceptionTerms(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	at := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	info, err := a.OpenException(ctx, OpenExceptionInput{ID: "exception/1", PolicyID: "access", RequesterID: "eve",
		Purpose: "legacy VPN", Reason: "no MFA on the appliance", Expires: expires, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(info.SecurityOfficers, ",") != "sam" || strings.Join(info.COOs, ",") != "coby" {
		t.Errorf("approvers: %+v", info)
	}
	approved := at.AddDate(0, 0, 3)
	term, err := a.SetExceptionStatus(ctx, ExceptionStatusInput{ID: "exception/1", Round: 1, Status: StatusApproved, Actor: "coby", At: approved, Controls: info.Controls})
	if err != nil {
		t.Fatal(err)
	}
	if !term.ExpiresAt.Equal(expires) {
		t.Errorf("first term expires %s, want the date asked for, %s", term.ExpiresAt, expires)
	}
	renewed := expires.Add(-24 * time.Hour)
	term, err = a.SetExceptionStatus(ctx, ExceptionStatusInput{ID: "exception/1", Round: 2, Status: StatusApproved, Actor: "coby", At: renewed, Controls: info.Controls})
	if err != nil {
		t.Fatal(err)
	}
	if want := renewed.Add(expires.Sub(at)); !term.ExpiresAt.Equal(want) || !ExceptionTermOK(renewed, term.ExpiresAt) {
		t.Errorf("renewal expires %s, want %s (as long as the first term)", term.ExpiresAt, want)
	}
	if _, err := db.Owner.Exec(`UPDATE policy_exceptions SET expires_at = approved_at + interval '1 year 1 day'`); err == nil {
		t.Error("the table accepted an expiry more than a year after approval")
	}
	var audits int
	db.Owner.Get(&audits, `SELECT count(*) FROM audit_log WHERE subject = 'exception/1' AND control_id = 'policy-mgmt'`)
	if audits != 3 {
		t.Errorf("%d audit entries, want 3 (requested, approved twice)", audits)
	}
}

// An approval that comes after the expiry asked for is refused, and nothing
// is recorded: no approved row whose term ends before it starts.
func TestExceptionApprovalAfterExpiryRefused(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	at := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	if _, err := a.OpenException(ctx, OpenExceptionInput{ID: "exception/late", PolicyID: "access", RequesterID: "eve",
		Purpose: "legacy VPN", Reason: "no MFA on the appliance", Expires: at.AddDate(0, 0, 5), At: at}); err != nil {
		t.Fatal(err)
	}
	_, err := a.SetExceptionStatus(ctx, ExceptionStatusInput{ID: "exception/late", Round: 1, Status: StatusApproved, Actor: "coby", At: at.AddDate(0, 0, 7)})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "ExpiredBeforeApproval" || !appErr.NonRetryable() {
		t.Fatalf("approval after the expiry: %v, want a non-retryable ExpiredBeforeApproval", err)
	}
	var status string
	db.Owner.Get(&status, `SELECT status FROM policy_exceptions WHERE id = 'exception/late'`)
	if status != StatusRequested {
		t.Errorf("status %q after the refused approval, want still requested", status)
	}
}

// A renewal round can see two terms end: the one in effect lapses before the
// renewal is approved, and the renewed term later ends undecided. Both are
// audited; a retry of either writes nothing more.
func TestExceptionTwoExpiriesInOneRoundAreBothAudited(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	at := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	first := time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)
	info, err := a.OpenException(ctx, OpenExceptionInput{ID: "exception/1", PolicyID: "access", RequesterID: "eve",
		Purpose: "legacy VPN", Reason: "no MFA on the appliance", Expires: first, At: at})
	if err != nil {
		t.Fatal(err)
	}
	set := func(round int, status string, when time.Time) ExceptionTerm {
		t.Helper()
		term, err := a.SetExceptionStatus(ctx, ExceptionStatusInput{ID: "exception/1", Round: round, Status: status,
			Actor: "complyflow", At: when, Controls: info.Controls})
		if err != nil {
			t.Fatalf("round %d %s: %v", round, status, err)
		}
		return term
	}
	set(1, StatusApproved, at.Add(time.Hour))
	set(2, StatusExpired, first) // the renewal is still undecided
	renewed := set(2, StatusApproved, first.AddDate(0, 0, 10))
	set(2, StatusExpired, renewed.ExpiresAt)
	set(2, StatusExpired, renewed.ExpiresAt) // a retry

	var ends []time.Time
	if err := db.Owner.Select(&ends, `SELECT (detail->>'expires_at')::timestamptz FROM audit_log
		WHERE subject = 'exception/1' AND action = 'policy.exception.expired' AND (detail->>'round')::int = 2 ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(ends) != 2 || !ends[0].Equal(first) || !ends[1].Equal(renewed.ExpiresAt) {
		t.Errorf("expiries audited in round 2: %v, want the first term's end %v and the renewed term's %v, once each", ends, first, renewed.ExpiresAt)
	}
}

// Nobody approves their own exception: the requester is left out of the
// approvers at the request and at each renewal, and a role only the
// requester holds refuses the request before anything is recorded.
func TestExceptionApproversLeaveOutTheRequester(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	at := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	in := OpenExceptionInput{ID: "exception/own", PolicyID: "access", RequesterID: "sam",
		Purpose: "legacy VPN", Reason: "no MFA on the appliance", Expires: at.AddDate(0, 6, 0), At: at}
	_, err := a.OpenException(ctx, in)
	if err == nil || !isNonRetryable(err) || !strings.Contains(err.Error(), "sam is the only holder of the role security_officer") ||
		!strings.Contains(err.Error(), "add another holder or designee under roles.security_officer in the program file") {
		t.Errorf("the sole Security Officer's own exception: %v, want a non-retryable refusal naming the role to fill", err)
	}
	var recorded int
	db.Owner.Get(&recorded, `SELECT (SELECT count(*) FROM policy_exceptions) + (SELECT count(*) FROM audit_log)`)
	if recorded != 0 {
		t.Errorf("%d rows recorded for a refused exception", recorded)
	}

	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('tom', 'tom@example.com', 'Tom Officer')`)
	db.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('security_officer', 'tom'), ('coo', 'sam')`)
	info, err := a.OpenException(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(info.SecurityOfficers, ",") != "tom" || strings.Join(info.COOs, ",") != "coby" {
		t.Errorf("approvers of sam's exception: officers %v, COOs %v; want tom and coby", info.SecurityOfficers, info.COOs)
	}
	renewal, err := a.ExceptionApprovers(ctx, ExceptionApproversInput{ID: in.ID})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(renewal.SecurityOfficers, ",") != "tom" || strings.Join(renewal.COOs, ",") != "coby" || renewal.Refused != "" {
		t.Errorf("renewal approvers: officers %v, COOs %v (%q); want tom and coby", renewal.SecurityOfficers, renewal.COOs, renewal.Refused)
	}

	// With tom gone, a renewal is refused, not failed: the run records why.
	db.Owner.MustExec(`DELETE FROM roles WHERE person_id = 'tom'`)
	renewal, err = a.ExceptionApprovers(ctx, ExceptionApproversInput{ID: in.ID})
	if err != nil || !strings.Contains(renewal.Refused, "sam is the only holder of the role security_officer") ||
		len(renewal.SecurityOfficers)+len(renewal.COOs) != 0 || len(renewal.Controls) != 1 {
		t.Errorf("renewal with sam the only officer: %+v, %v; want refused naming the role, no approvers, the controls to record it under", renewal, err)
	}
}

func isNonRetryable(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.NonRetryable()
}
