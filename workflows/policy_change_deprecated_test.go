package workflows

import (
	"testing"
	"time"
)

// A policy deprecated while its change request was in review: the approved
// version is kept on record, but nobody is told of a policy no longer in
// force, nor owes it an acknowledgement, and the policy stays deprecated.
func TestPolicyChangeToADeprecatedPolicyIsNotAnnounced(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := PolicyChangeRequestID("access", "deprecated-meanwhile")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove, also: func() {
		h.db.Owner.MustExec(`UPDATE policies SET status = 'deprecated' WHERE id = 'access'`)
	}})
	h.on(HumanTaskID(id, "second-approval/1"), answer{after: day, by: "cleo", action: ActionApprove})
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "require MFA", Text: "v2", RequesterID: "eve"})

	if st.Stage != StagePublished || st.Version != "2023.2" || st.Announced != 0 {
		t.Fatalf("result %+v: want 2023.2 published, announced to nobody", st)
	}
	if n := len(h.sink.Messages()); n != 0 {
		t.Errorf("%d announcement emails sent for a deprecated policy", n)
	}
	if n := h.count(`SELECT count(*) FROM policy_acknowledgements_owed WHERE change_request_id = $1`, id); n != 0 {
		t.Errorf("%d re-acknowledgements owed for a deprecated policy", n)
	}
	if n := h.count(`SELECT count(*) FROM policies WHERE id = 'access' AND status = 'deprecated' AND version = '2023.2'`); n != 1 {
		t.Error("the policy is not at 2023.2 and still deprecated")
	}
	if n := h.count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'published' AND closed_at IS NOT NULL`, id); n != 1 {
		t.Error("the request is not closed as published")
	}
}
