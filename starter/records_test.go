package main

import (
	"context"
	"strings"
	"testing"
	"time"

	exceptionact "github.com/complyflow/complyflow/activities/policyexception"
	reviewact "github.com/complyflow/complyflow/activities/policyreview"

	"github.com/complyflow/complyflow/internal/testenv"
)

func TestRecordsExceptionsAndReviews(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	db.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('review_committee', 'eve')`)
	a := &exceptionact.Activities{DB: db.App}
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	if _, err := a.OpenException(ctx, exceptionact.OpenExceptionInput{ID: "policy-exception/access/1", PolicyID: "access", RequesterID: "eve",
		Purpose: "legacy VPN", Reason: "no MFA on the appliance", Expires: at.AddDate(0, 6, 0), At: at}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []exceptionact.ExceptionDecisionInput{
		{ID: "policy-exception/access/1", Round: 1, Step: "security_officer", By: "sam", Action: "approve", At: at.Add(time.Hour)},
		{ID: "policy-exception/access/1", Round: 1, Step: "coo", By: "coby", Action: "approve", Note: "six months only", At: at.Add(2 * time.Hour)},
	} {
		if err := a.RecordExceptionDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.SetExceptionStatus(ctx, exceptionact.ExceptionStatusInput{ID: "policy-exception/access/1", Round: 1,
		Status: exceptionact.StatusApproved, Actor: "coby", At: at.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := starterIn(t, db, "records", "policy-exceptions")
	for _, want := range []string{"policy-exception/access/1 — policy access, requested by eve: approved (round 1)",
		"purpose: legacy VPN", "approved 2025-03-01 11:00:00.000000Z, expires 2025-09-01 09:00:00.000000Z",
		"round 1 coo: approve by coby at 2025-03-01 11:00:00Z (six months only)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("records policy-exceptions lacks %q: exit %d\n%s%s", want, code, out, errOut)
		}
	}

	r := &reviewact.Activities{DB: db.App}
	if _, err := r.OpenPolicyReview(ctx, reviewact.OpenReviewInput{ID: "annual-policy-review/2025"}); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordReviewItems(ctx, reviewact.ReviewItemsInput{ID: "annual-policy-review/2025", Round: 1, ReviewerID: "eve", At: at,
		Items: []reviewact.ReviewItem{{PolicyID: "access", Outcome: reviewact.OutcomeChangeRequested, Note: "add MFA",
			ChangeRequestID: "change-request/access/x"}}}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = starterIn(t, db, "records", "policy-reviews")
	if code != 0 || !strings.Contains(out, "annual-policy-review/2025 — officer sam") ||
		!strings.Contains(out, "1      eve       access  2025-03-01 09:00:00.000000Z  change-requested  change-request/access/x  -          add MFA") {
		t.Errorf("records policy-reviews: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := starterIn(t, db, "records", "nonsense"); code != 2 || !strings.Contains(errOut, "unknown kind of record") {
		t.Errorf("unknown kind: exit %d, %s", code, errOut)
	}
}

// The reviews record shows a rejected sign-off (who, when, why) and a
// member's second change to a policy asked for in a clarification.
func TestRecordsReviewsRejectionAndClarifiedChange(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	db.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('review_committee', 'eve')`)
	a := &reviewact.Activities{DB: db.App}
	ctx := context.Background()
	id := "annual-policy-review/2025"
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	if _, err := a.OpenPolicyReview(ctx, reviewact.OpenReviewInput{ID: id}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []reviewact.ReviewItemsInput{
		{ID: id, Round: 1, ReviewerID: "eve", At: at, Items: []reviewact.ReviewItem{{PolicyID: "access",
			Outcome: reviewact.OutcomeChangeRequested, Note: "fix the typo", ChangeRequestID: "change-request/access/x"}}},
		{ID: id, Round: 1, ReviewerID: "eve", At: at.Add(time.Hour), Clarify: 1, Items: []reviewact.ReviewItem{{PolicyID: "access",
			Outcome: reviewact.OutcomeChangeRequested, Note: "tighten MFA", ChangeRequestID: "change-request/access/x-c1"}}},
	} {
		if err := a.RecordReviewItems(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RecordReviewRejection(ctx, reviewact.ReviewRejectionInput{ID: id, Round: 1, By: "sam", Note: "look at MFA again",
		At: at.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := starterIn(t, db, "records", "policy-reviews")
	for _, want := range []string{
		"  round 1 sign-off rejected by sam at 2025-03-03 09:00:00.000000Z: look at MFA again",
		"eve       access  2025-03-01 09:00:00.000000Z  change-requested  change-request/access/x     -          fix the typo",
		"eve       access  2025-03-01 10:00:00.000000Z  change-requested  change-request/access/x-c1  -          tighten MFA",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("records policy-reviews lacks %q: exit %d\n%s%s", want, code, out, errOut)
		}
	}
}

// The reviews record says which of a review's change requests failed, and
// why, once however many controls the failure was audited under.
func TestRecordsReviewsFailedChangeRequest(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	db.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('review_committee', 'eve')`)
	a := &reviewact.Activities{DB: db.App}
	ctx := context.Background()
	id := "annual-policy-review/2025"
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	if _, err := a.OpenPolicyReview(ctx, reviewact.OpenReviewInput{ID: id}); err != nil {
		t.Fatal(err)
	}
	if err := a.RecordReviewItems(ctx, reviewact.ReviewItemsInput{ID: id, Round: 1, ReviewerID: "eve", At: at,
		Items: []reviewact.ReviewItem{{PolicyID: "access", Outcome: reviewact.OutcomeChangeRequested, Note: "add MFA",
			ChangeRequestID: "change-request/access/x"}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.RecordReviewChangeFailed(ctx, reviewact.ReviewChangeFailedInput{ReviewID: id, Round: 1, MemberID: "eve", PolicyID: "access",
		RequestID: "change-request/access/x", Reason: "only the requester, eve, holds the role head_of_engineering",
		At: at.Add(time.Hour), Controls: []string{"c1", "c2"}}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := starterIn(t, db, "records", "policy-reviews")
	want := "  round 1 change request change-request/access/x (eve, access) failed: only the requester, eve, holds the role head_of_engineering\n"
	if code != 0 || strings.Count(out, want) != 1 {
		t.Errorf("records policy-reviews does not name the failed change request once: exit %d\n%s%s", code, out, errOut)
	}
}
