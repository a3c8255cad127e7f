package policyreview

import (
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
	"github.com/complyflow/complyflow/workflows/policychange"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
)

// failedChangeScript has eve ask for a change to access whose change request
// is left unanswered by the script, so that child fails; pat approves.
func failedChangeScript(h *policytest.Harness, id string) string {
	h.On(humantask.ID(id, "open"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "review/1/pat"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "review/1/eve"), policytest.Answer{After: 2 * policytest.Day, By: "eve", Action: humantask.ActionReject,
		Note: "access [minor]: fix the typo in section 2"})
	h.On(humantask.ID(id, "sign-off/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	return policychange.ID("access", "annual-policy-review-2025-r1-eve")
}

// A change request of the review that fails is audited, under the review's
// control, with the member, policy, request and the reason it failed, so
// the review item naming that request does not read as a change under way.
func TestAnnualReviewFailedChangeAudited(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	id := "annual-policy-review/2025"
	cr := failedChangeScript(h, id)
	reason := "no scripted answer for " + humantask.ID(cr, "review/1")

	st := runReview(h, id)
	if st.Stage != "signed-off" || len(st.ChangeRequests) != 1 || st.ChangeRequests[0] != cr {
		t.Fatalf("result %+v: want signed off with %s started", st, cr)
	}
	if got := len(h.Calls("RecordReviewChangeFailed")); got != 1 {
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
	if err := h.DB.Owner.Select(&entries, `SELECT actor, control_id, detail->>'member' AS member, detail->>'policy' AS policy,
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
	if !strings.Contains(h.Task(humantask.ID(id, "sign-off/1")).Body, "change request "+cr+" failed: "+reason) {
		t.Error("sign-off task does not name the change request that failed")
	}
}

// A role that changes between the review's check of a change and the open
// of its change request (here eve becomes the only head of engineering, and
// the program marks the policy she owns as product development) fails the child at open: the review audits that
// failure with the refusal's reason, next to the item naming the request.
func TestAnnualReviewChangeRefusedAtOpenAudited(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	h.DB.Owner.MustExec(`INSERT INTO policies (id, title, owner_id, source, created_at) VALUES
		('change-management', 'Change Management Policy', 'eve', 'policies/change-management.md', '2023-01-10')`)
	h.Env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == "CheckReviewChange" {
			h.DB.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'eve') ON CONFLICT DO NOTHING;
				UPDATE policies SET product_development = true WHERE id = 'change-management'`)
		}
	})
	id := "annual-policy-review/2025"
	cr := policychange.ID("change-management", "annual-policy-review-2025-r1-eve")
	h.On(humantask.ID(id, "open"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "review/1/pat"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "review/1/eve"), policytest.Answer{After: 2 * policytest.Day, By: "eve", Action: humantask.ActionReject,
		Note: "change-management [minor]: add the rollback step"})
	h.On(humantask.ID(id, "sign-off/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})

	runReview(h, id)
	if n := h.Count(`SELECT count(*) FROM policy_review_items WHERE review_id = $1 AND policy_id = 'change-management'
		AND outcome = 'change-requested' AND change_request_id = $2`, id, cr); n != 1 {
		t.Fatalf("eve's change not recorded as requested with %s: the check did not pass before the role changed", cr)
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id = $1`, cr); n != 0 {
		t.Errorf("%s was opened; want it refused at open", cr)
	}
	reason := "only the requester, eve, holds the role head_of_engineering"
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.review.change-failed'
		AND detail->>'request' = $2 AND detail->>'member' = 'eve' AND detail->>'policy' = 'change-management'
		AND detail->>'reason' LIKE $3 || '%' AND control_id = 'info-sec-program-review'`, id, cr, reason); n != 1 {
		t.Errorf("%d change-failed audit entries naming %s and the refusal, want 1", n, cr)
	}
}
