package policychange

import (
	"testing"
	"time"

	changeact "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// Each stage a request waits in is in the records while it waits there, not
// only in the workflow's memory: `starter change-request status` falls back
// to the records once Temporal has forgotten the run.
func TestPolicyChangeRecordsTheStageItWaitsIn(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.DB.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('hank', 'hank@example.com', 'Hank Head of Engineering');
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'hank');
		INSERT INTO policies (id, title, owner_id, source, created_at, product_development) VALUES ('sdlc', 'Secure Development Policy', 'hank', 'policies/sdlc.md', '2023-01-10', true);`)
	id := ID("sdlc", "stages")
	recorded := map[string]string{} // by task purpose: change_requests.status while it was open
	queried := map[string]string{}  // by task purpose: the status query's stage while it was open
	status := func() string {
		var s string
		if err := h.DB.Owner.Get(&s, `SELECT status FROM change_requests WHERE id = $1`, id); err != nil {
			t.Error(err)
		}
		return s
	}
	steps := []struct {
		purpose, by string
		note        string
	}{
		{"review/1", "sam", ""}, {"second-approval/1", "cleo", ""}, {"engineering-approval/1", "hank", ""},
		{"production-change/1", "eve", "CHG-7"},
	}
	for i, s := range steps {
		action := humantask.ActionApprove
		if s.purpose == "production-change/1" {
			action = humantask.ActionDone
		}
		h.On(humantask.ID(id, s.purpose), policytest.Answer{After: policytest.Day, By: s.by, Action: action, Note: s.note,
			Also: func() { recorded[s.purpose] = status() }})
		// Each task is open from day i to day i+1.
		h.Env.RegisterDelayedCallback(func() {
			v, err := h.Env.QueryWorkflow(workflows.QueryStatus)
			var st Status
			if err == nil {
				err = v.Get(&st)
			}
			if err != nil {
				t.Errorf("query during %s: %v", s.purpose, err)
			}
			queried[s.purpose] = st.Stage
		}, time.Duration(i)*policytest.Day+12*time.Hour)
	}
	st := runChange(h, id, Input{PolicyID: "sdlc", Kind: "material", Summary: "two reviewers", Text: "v2 with two reviewers", RequesterID: "eve",
		NeedsProductionChange: true})

	if st.Stage != changeact.StatusPublished || st.ProductionChangeRef != "CHG-7" {
		t.Fatalf("result %+v", st)
	}
	want := map[string]string{
		"review/1": "in-review", "second-approval/1": "awaiting-second-approval",
		"engineering-approval/1": "awaiting-engineering-approval", "production-change/1": "awaiting-production-change",
	}
	for purpose, stage := range want {
		if recorded[purpose] != stage || queried[purpose] != stage {
			t.Errorf("while %s was open: recorded %q, query %q; want %q", purpose, recorded[purpose], queried[purpose], stage)
		}
	}
}
