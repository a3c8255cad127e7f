package main

import (
	"context"
	"strings"
	"testing"
	"time"

	exceptionact "github.com/complyflow/complyflow/activities/policyexception"

	"github.com/complyflow/complyflow/internal/testenv"
)

// The only Security Officer asking for an exception is refused before any
// workflow starts: nobody else could approve it, and the one line says which
// role to fill.
func TestExceptionCommandRefusesTheSoleHolderOfARole(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	code, out, errOut := starterIn(t, db, "exception", "--policy", "access", "--purpose", "legacy VPN for a customer",
		"--reason", "the appliance cannot do MFA", "--expires", time.Now().AddDate(0, 6, 0).Format(time.DateOnly), "--as", "sam")
	if code != 2 || !strings.Contains(errOut, "sam is the only holder of the role security_officer") ||
		!strings.Contains(errOut, "roles.security_officer in the program file") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 with one line naming the role to fill", code, out, errOut)
	}
	var n int
	db.Owner.Get(&n, `SELECT count(*) FROM policy_exceptions`)
	if n != 0 {
		t.Errorf("%d exceptions recorded", n)
	}
}

// With the workflow gone from Temporal, status comes from the records, and
// lists every round: a renewal round whose first term lapsed and whose
// renewed term later ended shows both ends, and who decided each step.
func TestExceptionStatusFromTheRecordsShowsEveryRound(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	// Two controls: each step is audited under both, and listed once.
	db.Owner.MustExec(`INSERT INTO controls (id, title, processes) VALUES
		('policy-mgmt', 'Policy Management', '{policy-exception}'), ('accountability', 'Accountability', '{policy-exception}')`)
	a := &exceptionact.Activities{DB: db.App}
	ctx := context.Background()
	id := "policy-exception/access/long-ago"
	at := time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC)
	first := time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)
	info, err := a.OpenException(ctx, exceptionact.OpenExceptionInput{ID: id, PolicyID: "access", RequesterID: "eve",
		Purpose: "legacy VPN for a customer", Reason: "the appliance cannot do MFA", Expires: first, At: at})
	if err != nil {
		t.Fatal(err)
	}
	decide := func(round int, step, by, action, note string, when time.Time) {
		t.Helper()
		if err := a.RecordExceptionDecision(ctx, exceptionact.ExceptionDecisionInput{ID: id, Round: round, Step: step, By: by,
			Action: action, Note: note, At: when, Controls: info.Controls}); err != nil {
			t.Fatal(err)
		}
	}
	set := func(round int, status, actor string, when time.Time, note string) exceptionact.ExceptionTerm {
		t.Helper()
		term, err := a.SetExceptionStatus(ctx, exceptionact.ExceptionStatusInput{ID: id, Round: round, Status: status, Actor: actor,
			At: when, Controls: info.Controls, Note: note})
		if err != nil {
			t.Fatal(err)
		}
		return term
	}
	decide(1, "security_officer", "sam", "approve", "", at.Add(time.Hour))
	decide(1, "coo", "coby", "approve", "", at.Add(2*time.Hour))
	set(1, exceptionact.StatusApproved, "coby", at.Add(2*time.Hour), "")
	decide(1, "re-evaluation", "sam", "approve", "renew", first.AddDate(0, 0, -10))
	set(2, exceptionact.StatusExpired, "complyflow", first, "the renewal was not approved before the term ended")
	decide(2, "security_officer", "sam", "approve", "", first.AddDate(0, 0, 2))
	decide(2, "coo", "coby", "approve", "", first.AddDate(0, 0, 3))
	renewed := set(2, exceptionact.StatusApproved, "coby", first.AddDate(0, 0, 3), "")
	set(2, exceptionact.StatusExpired, "complyflow", renewed.ExpiresAt, "")

	code, out, errOut := starterIn(t, db, "exception", "status", id)
	if code != 0 || !strings.Contains(errOut, "from the records") {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		id + ": expired (round 2)", "requested by eve", "round 1 coo by coby: approve", "round 1 re-evaluation by sam: approve (renew)",
		"round 2 expired: the term ending 2024-08-01T00:00:00Z ran out (the renewal was not approved before the term ended)",
		"round 2 approved (last approval by coby): term 2024-08-04T00:00:00Z to " + renewed.ExpiresAt.UTC().Format(time.RFC3339),
		"round 2 expired: the term ending " + renewed.ExpiresAt.UTC().Format(time.RFC3339) + " ran out",
		"term:     approved 2024-08-04T00:00:00Z, expires " + renewed.ExpiresAt.UTC().Format(time.RFC3339),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "round 1 coo by coby"); n != 1 || len(info.Controls) != 2 {
		t.Errorf("the COO's approval listed %d times, want once:\n%s", n, out)
	}
	if code, _, errOut := starterIn(t, db, "exception", "status", "policy-exception/access/never"); code != 2 || !strings.Contains(errOut, "no exception") {
		t.Errorf("unknown exception: exit %d, %s", code, errOut)
	}
}
