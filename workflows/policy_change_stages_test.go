package workflows

import (
	"testing"
	"time"
)

// Each stage a request waits in is in the records while it waits there, not
// only in the workflow's memory: `starter change-request status` falls back
// to the records once Temporal has forgotten the run.
func TestPolicyChangeRecordsTheStageItWaitsIn(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('hank', 'hank@example.com', 'Hank Head of Engineering');
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'hank');
		INSERT INTO policies (id, title, owner_id, created_at) VALUES ('sdlc', 'Secure Development Policy', 'hank', '2023-01-10');`)
	id := PolicyChangeRequestID("sdlc", "stages")
	recorded := map[string]string{} // by task purpose: change_requests.status while it was open
	queried := map[string]string{}  // by task purpose: the status query's stage while it was open
	status := func() string {
		var s string
		if err := h.db.Owner.Get(&s, `SELECT status FROM change_requests WHERE id = $1`, id); err != nil {
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
		action := ActionApprove
		if s.purpose == "production-change/1" {
			action = ActionDone
		}
		h.on(HumanTaskID(id, s.purpose), answer{after: day, by: s.by, action: action, note: s.note,
			also: func() { recorded[s.purpose] = status() }})
		// Each task is open from day i to day i+1.
		h.env.RegisterDelayedCallback(func() {
			v, err := h.env.QueryWorkflow(QueryStatus)
			var st PolicyChangeStatus
			if err == nil {
				err = v.Get(&st)
			}
			if err != nil {
				t.Errorf("query during %s: %v", s.purpose, err)
			}
			queried[s.purpose] = st.Stage
		}, time.Duration(i)*day+12*time.Hour)
	}
	st := h.runChange(id, PolicyChangeInput{PolicyID: "sdlc", Kind: "material", Summary: "two reviewers", RequesterID: "eve",
		NeedsProductionChange: true})

	if st.Stage != StagePublished || st.ProductionChangeRef != "CHG-7" {
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

// Every stage a decision can leave a request in has a status the records
// accept; an unknown one is a programming error, not a silent new status.
func TestPolicyChangeStagesMapToRecordedStatuses(t *testing.T) {
	for stage, want := range map[string]string{
		StageInReview: "in-review", StageReturned: "returned", StageAwaitingSecondApproval: "awaiting-second-approval",
		StageAwaitingEngineering: "awaiting-engineering-approval", StageAwaitingProductionChange: "awaiting-production-change",
		StagePublishing: "approved", StageWithdrawn: "withdrawn",
	} {
		if got := crStatus(stage); got != want {
			t.Errorf("crStatus(%q) = %q, want %q", stage, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("crStatus of an unknown stage did not panic")
		}
	}()
	crStatus("published-maybe")
}
