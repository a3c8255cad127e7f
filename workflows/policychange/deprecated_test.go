package policychange

import (
	"testing"
	"time"

	changeact "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// A policy deprecated while its change request was in review: the approved
// version is kept on record, but nobody is told of a policy no longer in
// force, nor owes it an acknowledgement, and the policy stays deprecated.
func TestPolicyChangeToADeprecatedPolicyIsNotAnnounced(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	id := ID("access", "deprecated-meanwhile")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove, Also: func() {
		h.DB.Owner.MustExec(`UPDATE policies SET status = 'deprecated' WHERE id = 'access'`)
	}})
	h.On(humantask.ID(id, "second-approval/1"), policytest.Answer{After: policytest.Day, By: "cleo", Action: humantask.ActionApprove})
	st := runChange(h, id, Input{PolicyID: "access", Kind: "material", Summary: "require MFA", Text: "v2", RequesterID: "eve"})

	if st.Stage != changeact.StatusPublished || st.Version != "2023.2" || st.Announced != 0 {
		t.Fatalf("result %+v: want 2023.2 published, announced to nobody", st)
	}
	if n := len(h.Sink.Messages()); n != 0 {
		t.Errorf("%d announcement emails sent for a deprecated policy", n)
	}
	if n := h.Count(`SELECT count(*) FROM policy_acknowledgements_owed WHERE change_request_id = $1`, id); n != 0 {
		t.Errorf("%d re-acknowledgements owed for a deprecated policy", n)
	}
	if n := h.Count(`SELECT count(*) FROM policies WHERE id = 'access' AND status = 'deprecated' AND version = '2023.2'`); n != 1 {
		t.Error("the policy is not at 2023.2 and still deprecated")
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'published' AND closed_at IS NOT NULL`, id); n != 1 {
		t.Error("the request is not closed as published")
	}
}
