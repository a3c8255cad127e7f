package policyreview

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
)

func TestPolicyReviewRecord(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	db.Owner.MustExec(`INSERT INTO policies (id, title, owner_id, source) VALUES ('privacy', 'Privacy Policy', 'pat', 'policies/privacy.md')`)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	if _, err := a.OpenPolicyReview(ctx, OpenReviewInput{ID: "r", Scope: []string{"access", "nope"}}); err == nil || !isNonRetryable(err) {
		t.Errorf("scope with an unknown policy: %v", err)
	}
	info, err := a.OpenPolicyReview(ctx, OpenReviewInput{ID: "annual-policy-review/2025", ObligationID: "apr", ControlIDs: []string{"c1"}})
	if err != nil {
		t.Fatal(err)
	}
	if info.OfficerID != "sam" || strings.Join(info.Committee, ",") != "eve,pat" || len(info.Policies) != 2 || info.Controls[0] != "c1" {
		t.Errorf("review info: %+v", info)
	}
	at := time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)
	if err := a.RecordReviewItems(ctx, ReviewItemsInput{ID: "annual-policy-review/2025", Round: 1, ReviewerID: "pat", At: at,
		Items: []ReviewItem{{PolicyID: "access", Outcome: OutcomeNoChange}, {PolicyID: "privacy", Outcome: OutcomeChangeRequested,
			Note: "name the DPO", ChangeRequestID: "change-request/privacy/x"}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.RecordReviewStatus(ctx, ReviewStatusInput{ID: "annual-policy-review/2025", Round: 1, Status: StatusSignedOff, By: "sam", At: at}); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Reviewer string `db:"reviewer_id"`
		Policy   string `db:"policy_id"`
		Outcome  string `db:"outcome"`
	}
	db.App.Select(&rows, `SELECT reviewer_id, policy_id, outcome FROM policy_review_items ORDER BY policy_id`)
	if len(rows) != 2 || rows[1].Outcome != OutcomeChangeRequested {
		t.Errorf("review items: %+v", rows)
	}
	var status string
	db.App.Get(&status, `SELECT status FROM policy_reviews WHERE id = 'annual-policy-review/2025' AND signed_off_at IS NOT NULL`)
	if status != StatusSignedOff {
		t.Errorf("review status %q", status)
	}
}

// A member's clarification asking for another change to a policy they
// already asked to change in the round is a second item, not dropped; a
// retry of either answer writes nothing more.
func TestPolicyReviewClarifiedSecondChangeKept(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	id := "annual-policy-review/2025"
	if _, err := a.OpenPolicyReview(ctx, OpenReviewInput{ID: id}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)
	answers := []ReviewItemsInput{
		{ID: id, Round: 1, ReviewerID: "eve", At: at, Unclear: []string{"finance is not a policy in this review"},
			Items: []ReviewItem{{PolicyID: "access", Outcome: OutcomeChangeRequested, Note: "fix the typo", ChangeRequestID: "change-request/access/a"}}},
		{ID: id, Round: 1, ReviewerID: "eve", At: at.Add(time.Hour), Clarify: 1,
			Items: []ReviewItem{{PolicyID: "access", Outcome: OutcomeChangeRequested, Note: "tighten MFA", ChangeRequestID: "change-request/access/a-c1"}}},
	}
	for range 2 {
		for _, in := range answers {
			if err := a.RecordReviewItems(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	var rows []struct {
		Clarify int       `db:"clarify"`
		Note    string    `db:"note"`
		CR      string    `db:"change_request_id"`
		At      time.Time `db:"reviewed_at"`
	}
	if err := db.App.Select(&rows, `SELECT clarify, note, change_request_id, reviewed_at FROM policy_review_items
		WHERE review_id = $1 AND reviewer_id = 'eve' AND policy_id = 'access' ORDER BY clarify`, id); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].CR != "change-request/access/a" || rows[1].CR != "change-request/access/a-c1" ||
		rows[1].Note != "tighten MFA" || !rows[1].At.Equal(at.Add(time.Hour)) {
		t.Errorf("eve's items on access: %+v, want both change requests, once each", rows)
	}
	var audits int
	db.App.Get(&audits, `SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.review.reviewed'`, id)
	if audits != 2 {
		t.Errorf("%d reviewed audit entries, want one per answer", audits)
	}
}

// A rejected sign-off is recorded with who, when and why, once however
// often it is retried, and audited under its own key.
func TestPolicyReviewRejectionRecorded(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	id := "annual-policy-review/2025"
	if _, err := a.OpenPolicyReview(ctx, OpenReviewInput{ID: id}); err != nil {
		t.Fatal(err)
	}
	if err := a.RecordReviewRejection(ctx, ReviewRejectionInput{ID: id, Round: 1, Note: "no reviewer"}); err == nil || !isNonRetryable(err) {
		t.Errorf("rejection without who or when: %v", err)
	}
	at := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	for _, in := range []ReviewRejectionInput{
		{ID: id, Round: 1, TaskID: "t1", By: "sam", Note: "look at privacy again", At: at, Controls: []string{"policy-mgmt"}},
		{ID: id, Round: 1, TaskID: "t1", By: "sam", Note: "look at privacy again", At: at, Controls: []string{"policy-mgmt"}},
		{ID: id, Round: 2, TaskID: "t2", By: "sam", Note: "still missing the DPO", At: at.AddDate(0, 0, 7), Controls: []string{"policy-mgmt"}},
	} {
		if err := a.RecordReviewRejection(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	var rows []struct {
		Round int       `db:"round"`
		Task  string    `db:"task_id"`
		By    string    `db:"rejected_by"`
		Note  string    `db:"note"`
		At    time.Time `db:"rejected_at"`
	}
	if err := db.App.Select(&rows, `SELECT round, task_id, rejected_by, note, rejected_at FROM policy_review_rejections
		WHERE review_id = $1 ORDER BY round`, id); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].By != "sam" || rows[0].Note != "look at privacy again" || !rows[0].At.Equal(at) || rows[0].Task != "t1" ||
		rows[1].Round != 2 || rows[1].Note != "still missing the DPO" {
		t.Errorf("rejections: %+v", rows)
	}
	var audit []struct {
		Actor string `db:"actor"`
		Key   string `db:"idempotency_key"`
		Note  string `db:"note"`
	}
	if err := db.App.Select(&audit, `SELECT actor, idempotency_key, detail->>'note' AS note FROM audit_log
		WHERE subject = $1 AND action = 'policy.review.sign-off-rejected' AND control_id = 'policy-mgmt' ORDER BY id`, id); err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 || audit[0].Actor != "sam" || audit[0].Note != "look at privacy again" ||
		audit[0].Key != id+"/round/1/sign-off-rejected#policy-mgmt" || audit[1].Key != id+"/round/2/sign-off-rejected#policy-mgmt" {
		t.Errorf("audit entries: %+v", audit)
	}
}

// A change whose request could not be opened is recorded as refused, with
// no change request and the reason, and audited once under its own key
// however often the write is retried.
func TestPolicyReviewRefusedChangeRecorded(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	ctx := context.Background()
	id := "annual-policy-review/2025"
	if _, err := a.OpenPolicyReview(ctx, OpenReviewInput{ID: id}); err != nil {
		t.Fatal(err)
	}
	note := "add MFA — could not be opened: only the requester, sam, holds the role security_officer or privacy_officer"
	in := ReviewItemsInput{ID: id, Round: 1, ReviewerID: "sam", TaskID: "t1", At: time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC),
		Controls: []string{"policy-mgmt"}, Items: []ReviewItem{{PolicyID: "access", Outcome: OutcomeChangeRefused, Note: note}}}
	for range 2 {
		if err := a.RecordReviewItems(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	var items int
	db.App.Get(&items, `SELECT count(*) FROM policy_review_items WHERE review_id = $1 AND reviewer_id = 'sam' AND policy_id = 'access'
		AND outcome = 'change-refused' AND change_request_id = '' AND note = $2`, id, note)
	if items != 1 {
		t.Errorf("%d refused items recorded, want 1 with no change request and the reason", items)
	}
	var audit []struct {
		Key    string `db:"idempotency_key"`
		Policy string `db:"policy"`
		By     string `db:"requester"`
		Note   string `db:"note"`
	}
	if err := db.App.Select(&audit, `SELECT idempotency_key, detail->>'policy' AS policy, detail->>'requester' AS requester,
		detail->>'note' AS note FROM audit_log WHERE subject = $1 AND action = 'policy.review.change-refused'`, id); err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Key != id+"/round/1/reviewed/sam/refused/access#policy-mgmt" || audit[0].Policy != "access" ||
		audit[0].By != "sam" || audit[0].Note != note {
		t.Errorf("refusal audit entries: %+v, want one naming the member, policy and reason", audit)
	}
}
