package policychange

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/activities/policyexception"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/policy"
)

// A deprecated policy is on record but no longer in force: no change request
// or exception is opened against it, and nothing is half-recorded.
func TestDeprecatedPolicyTakesNoNewRequests(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	db.Owner.MustExec(`UPDATE policies SET status = 'deprecated' WHERE id = 'access'`)

	_, err := (&Activities{DB: db.App}).OpenChangeRequest(ctx, OpenChangeRequestInput{ID: "cr-1", PolicyID: "access",
		Kind: policy.Material, Summary: "s", RequesterID: "eve", At: time.Now()})
	if err == nil || !isNonRetryable(err) || !strings.Contains(err.Error(), `policy "access" is deprecated`) {
		t.Fatalf("change request: %v", err)
	}
	if err := CheckChangeApprovers(ctx, db.App, "access", "eve", policy.Material); err == nil || !strings.Contains(err.Error(), "deprecated") {
		t.Fatalf("CheckChangeApprovers: %v", err)
	}
	_, err = (&policyexception.Activities{DB: db.App}).OpenException(ctx, policyexception.OpenExceptionInput{ID: "ex-1", PolicyID: "access", RequesterID: "eve",
		Purpose: "legacy system", Reason: "cannot meet it", Expires: time.Now().Add(30 * 24 * time.Hour), At: time.Now()})
	if err == nil || !isNonRetryable(err) || !strings.Contains(err.Error(), "deprecated") {
		t.Fatalf("exception: %v", err)
	}
	var rows int
	db.App.Get(&rows, `SELECT (SELECT count(*) FROM change_requests) + (SELECT count(*) FROM policy_exceptions)`)
	if rows != 0 {
		t.Fatalf("%d rows recorded for refused requests", rows)
	}
}

// A request opened before its policy was deprecated still publishes its
// version on record, and the policy stays deprecated.
func TestPublishKeepsADeprecatedPolicyDeprecated(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	openRequest(t, a, "cr/1", policy.Material)
	db.Owner.MustExec(`UPDATE policies SET status = 'deprecated' WHERE id = 'access'`)
	v := publish(t, a, "cr/1", policy.Material, time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC))
	var st struct {
		Status  string `db:"status"`
		Version string `db:"version"`
	}
	if err := db.App.Get(&st, `SELECT status, version FROM policies WHERE id = 'access'`); err != nil {
		t.Fatal(err)
	}
	if v.Version != "2023.1" || !v.PolicyDeprecated || st.Version != "2023.1" || st.Status != "deprecated" {
		t.Fatalf("published %+v; policy %+v, want version 2023.1 and still deprecated", v, st)
	}
}

// Publishing to a deprecated policy closes the request as published at
// once: there is no announcement to wait for.
func TestPublishToADeprecatedPolicyIsNotAnnouncing(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	openRequest(t, a, "cr/1", policy.Material)
	db.Owner.MustExec(`UPDATE policies SET status = 'deprecated' WHERE id = 'access'`)
	in := PublishInput{RequestID: "cr/1", PolicyID: "access", Kind: policy.Material, Summary: "s", Body: "the new text", PublishedBy: "sam",
		ChangeAt: time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC), Announcing: true}
	for attempt := 1; attempt <= 2; attempt++ { // a retry finds the same publish
		v, err := a.PublishPolicyVersion(ctx, in)
		if err != nil || !v.PolicyDeprecated {
			t.Fatalf("attempt %d: %+v, %v", attempt, v, err)
		}
	}
	var status string
	db.App.Get(&status, `SELECT status FROM change_requests WHERE id = 'cr/1'`)
	if status != StatusPublished {
		t.Fatalf("request status %q, want %q", status, StatusPublished)
	}
	var flagged int
	db.App.Get(&flagged, `SELECT count(*) FROM audit_log WHERE action = 'policy.version.published' AND (detail->>'policy_deprecated')::boolean`)
	if flagged == 0 {
		t.Fatal("the publish's audit entry does not say the policy is deprecated")
	}
}

// A publish retried after its reply was lost answers as the publish that
// committed did, even if the policy was deprecated (or restored) between the
// two: otherwise the run would skip the announcement the records await, or
// announce what they say was deprecated.
func TestRetriedPublishAnswersAsItCommitted(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	at := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		id                 string
		before, afterwards string
	}{{"cr/active-then-deprecated", "published", "deprecated"}, {"cr/deprecated-then-active", "deprecated", "published"}} {
		db.Owner.MustExec(`UPDATE policies SET status = $1 WHERE id = 'access'`, c.before)
		openRequestWhile(t, db, a, c.id)
		in := PublishInput{RequestID: c.id, PolicyID: "access", Kind: policy.Minor, Summary: "s", Body: "the new text", PublishedBy: "sam",
			ChangeAt: at, Controls: []string{"policy-mgmt"}, Announcing: true}
		first, err := a.PublishPolicyVersion(ctx, in)
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		db.Owner.MustExec(`UPDATE policies SET status = $1 WHERE id = 'access'`, c.afterwards)
		retry, err := a.PublishPolicyVersion(ctx, in)
		if err != nil {
			t.Fatalf("%s retry: %v", c.id, err)
		}
		if want := c.before == "deprecated"; first.PolicyDeprecated != want || retry.PolicyDeprecated != want {
			t.Errorf("%s: first %v, retry %v, want both %v", c.id, first.PolicyDeprecated, retry.PolicyDeprecated, want)
		}
	}
}

// openRequestWhile opens a minor change request whatever the policy's status,
// as a request opened before a deprecation was.
func openRequestWhile(t *testing.T, db *testenv.DB, a *Activities, id string) {
	t.Helper()
	var status string
	db.Owner.Get(&status, `SELECT status FROM policies WHERE id = 'access'`)
	db.Owner.MustExec(`UPDATE policies SET status = 'published' WHERE id = 'access'`)
	openRequest(t, a, id, policy.Minor)
	db.Owner.MustExec(`UPDATE policies SET status = $1 WHERE id = 'access'`, status)
}
