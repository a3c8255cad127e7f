package workflows

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// failedChangeScript has eve ask for a change to access whose change request
// is left unanswered by the script, so that child fails; pat approves.
func failedChangeScript(h *policyHarness, id string) string {
	h.on(HumanTaskID(id, "open"), answer{after: day, by: "sam", action: ActionDone})
	h.on(HumanTaskID(id, "review/1/pat"), answer{after: day, by: "pat", action: ActionApprove})
	h.on(HumanTaskID(id, "review/1/eve"), answer{after: 2 * day, by: "eve", action: ActionReject,
		note: "access [minor]: fix the typo in section 2"})
	h.on(HumanTaskID(id, "sign-off/1"), answer{after: day, by: "sam", action: ActionApprove})
	return PolicyChangeRequestID("access", "annual-policy-review-2025-r1-eve")
}

// A change request of the review that fails is audited, under the review's
// control, with the member, policy, request and the reason it failed, so
// the review item naming that request does not read as a change under way.
func TestAnnualReviewFailedChangeAudited(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	id := "annual-policy-review/2025"
	cr := failedChangeScript(h, id)
	reason := "no scripted answer for " + HumanTaskID(cr, "review/1")

	st := runReview(h, id)
	if st.Stage != "signed-off" || len(st.ChangeRequests) != 1 || st.ChangeRequests[0] != cr {
		t.Fatalf("result %+v: want signed off with %s started", st, cr)
	}
	if got := len(h.calls("RecordReviewChangeFailed")); got != 1 {
		t.Errorf("RecordReviewChangeFailed ran %d times, want once for the failed request", got)
	}
	var entries []struct {
		Actor   string `db:"actor"`
		Control string `db:"control_id"`
		Member  string `db:"member"`
		Policy  string `db:"policy"`
		Reason  string `db:"reason"`
		Round   string `db:"round"`
	}
	if err := h.db.Owner.Select(&entries, `SELECT actor, control_id, detail->>'member' AS member, detail->>'policy' AS policy,
		detail->>'reason' AS reason, detail->>'round' AS round
		FROM audit_log WHERE subject = $1 AND action = 'policy.review.change-failed' AND detail->>'request' = $2`, id, cr); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d change-failed audit entries for %s, want 1: %+v", len(entries), cr, entries)
	}
	if e := entries[0]; e.Actor != "complyflow" || e.Control != "info-sec-program-review" || e.Member != "eve" ||
		e.Policy != "access" || e.Reason != reason || e.Round != "1" {
		t.Errorf("audit entry %+v, want eve's access change in round 1 failed: %s", e, reason)
	}
	if !strings.Contains(h.task(HumanTaskID(id, "sign-off/1")).Body, "change request "+cr+" failed: "+reason) {
		t.Error("sign-off task does not name the change request that failed")
	}
}

// A run from before "review-change-failed-audit" lists the failed change
// request at sign-off only, as it did: no activity, no audit entry.
func TestAnnualReviewFailedChangeBeforeVersion(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	h.env.OnGetVersion("review-change-failed-audit", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	id := "annual-policy-review/2025"
	cr := failedChangeScript(h, id)

	runReview(h, id)
	if got := len(h.calls("RecordReviewChangeFailed")); got != 0 {
		t.Errorf("RecordReviewChangeFailed ran %d times in a run from before the version", got)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE action = 'policy.review.change-failed'`); n != 0 {
		t.Errorf("%d change-failed audit entries in a run from before the version", n)
	}
	if !strings.Contains(h.task(HumanTaskID(id, "sign-off/1")).Body, "change request "+cr+" failed: ") {
		t.Error("sign-off task does not name the change request that failed")
	}
}

// A role that changes between the review's check of a change and the open
// of its change request (here eve becomes the only head of engineering, of
// the policy she owns) fails the child at open: the review audits that
// failure with the refusal's reason, next to the item naming the request.
func TestAnnualReviewChangeRefusedAtOpenAudited(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	h.db.Owner.MustExec(`INSERT INTO policies (id, title, owner_id, source, created_at) VALUES
		('change-management', 'Change Management Policy', 'eve', 'policies/change-management.md', '2023-01-10')`)
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == "CheckReviewChange" {
			h.db.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'eve') ON CONFLICT DO NOTHING`)
		}
	})
	id := "annual-policy-review/2025"
	cr := PolicyChangeRequestID("change-management", "annual-policy-review-2025-r1-eve")
	h.on(HumanTaskID(id, "open"), answer{after: day, by: "sam", action: ActionDone})
	h.on(HumanTaskID(id, "review/1/pat"), answer{after: day, by: "pat", action: ActionApprove})
	h.on(HumanTaskID(id, "review/1/eve"), answer{after: 2 * day, by: "eve", action: ActionReject,
		note: "change-management [minor]: add the rollback step"})
	h.on(HumanTaskID(id, "sign-off/1"), answer{after: day, by: "sam", action: ActionApprove})

	runReview(h, id)
	if n := h.count(`SELECT count(*) FROM policy_review_items WHERE review_id = $1 AND policy_id = 'change-management'
		AND outcome = 'change-requested' AND change_request_id = $2`, id, cr); n != 1 {
		t.Fatalf("eve's change not recorded as requested with %s: the check did not pass before the role changed", cr)
	}
	if n := h.count(`SELECT count(*) FROM change_requests WHERE id = $1`, cr); n != 0 {
		t.Errorf("%s was opened; want it refused at open", cr)
	}
	reason := "only the requester, eve, holds the role head_of_engineering"
	if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.review.change-failed'
		AND detail->>'request' = $2 AND detail->>'member' = 'eve' AND detail->>'policy' = 'change-management'
		AND detail->>'reason' LIKE $3 || '%' AND control_id = 'info-sec-program-review'`, id, cr, reason); n != 1 {
		t.Errorf("%d change-failed audit entries naming %s and the refusal, want 1", n, cr)
	}
}
