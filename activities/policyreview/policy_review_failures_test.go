package policyreview

import (
	"context"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
)

// A review's change request that failed is audited once per control with
// who asked for what, the request and why it failed, however often the
// activity is retried; another failed request of the round is its own entry.
func TestPolicyReviewChangeFailedAuditedOnce(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	id := "annual-policy-review/2025"
	if _, err := a.OpenPolicyReview(ctx, OpenReviewInput{ID: id}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	failed := ReviewChangeFailedInput{ReviewID: id, Round: 1, MemberID: "eve", PolicyID: "access", RequestID: "change-request/access/r1-eve",
		Reason: "only the requester, eve, holds the role head_of_engineering", At: at, Controls: []string{"policy-mgmt", "other"}}
	other := failed
	other.MemberID, other.RequestID, other.Reason = "pat", "change-request/access/r1-pat", "no scripted answer"
	for _, in := range []ReviewChangeFailedInput{failed, failed, other, failed} {
		if err := a.RecordReviewChangeFailed(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	var rows []struct {
		Control string `db:"control_id"`
		Actor   string `db:"actor"`
		Member  string `db:"member"`
		Policy  string `db:"policy"`
		Reason  string `db:"reason"`
		Round   string `db:"round"`
		At      string `db:"at"`
	}
	if err := db.App.Select(&rows, `SELECT control_id, actor, detail->>'member' AS member, detail->>'policy' AS policy,
		detail->>'reason' AS reason, detail->>'round' AS round, detail->>'at' AS at
		FROM audit_log WHERE subject = $1 AND action = 'policy.review.change-failed' AND detail->>'request' = $2
		ORDER BY control_id`, id, failed.RequestID); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Control != "other" || rows[1].Control != "policy-mgmt" {
		t.Fatalf("audit entries for eve's failed request: %+v, want one per control", rows)
	}
	if r := rows[1]; r.Actor != "complyflow" || r.Member != "eve" || r.Policy != "access" || r.Reason != failed.Reason ||
		r.Round != "1" || r.At != "2025-02-01T09:00:00Z" {
		t.Errorf("audit entry %+v", r)
	}
	var n int
	if err := db.App.Get(&n, `SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.review.change-failed'`, id); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d change-failed audit entries, want 2 requests x 2 controls", n)
	}
}

func TestPolicyReviewChangeFailedBadInput(t *testing.T) {
	db := testenv.Postgres(t)
	a := &Activities{DB: db.App}
	at := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	for _, in := range []ReviewChangeFailedInput{
		{ReviewID: "r", Round: 1, MemberID: "eve", PolicyID: "access", Reason: "x", At: at},
		{ReviewID: "r", Round: 0, MemberID: "eve", PolicyID: "access", RequestID: "cr", At: at},
		{ReviewID: "r", Round: 1, MemberID: "eve", PolicyID: "access", RequestID: "cr"},
	} {
		if err := a.RecordReviewChangeFailed(context.Background(), in); err == nil || !isNonRetryable(err) {
			t.Errorf("%+v: %v, want a non-retryable error", in, err)
		}
	}
	var n int
	if err := db.App.Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'policy.review.change-failed'`); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d audit entries written for bad input", n)
	}
}
