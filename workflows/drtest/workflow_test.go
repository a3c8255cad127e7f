package drtest

import (
	"slices"
	"testing"
	"time"

	act "github.com/complyflow/complyflow/activities/drtest"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

func planned(date string) humantask.Values {
	return humantask.Values{Fields: map[string]string{"date": date, "scenario": "database-restore"},
		Lists: map[string][]map[string]string{"systems": {{"system": "sys-db"}, {"system": "sys-wiki"}}}}
}

func recovered(outcome string, findings ...map[string]string) humantask.Values {
	return humantask.Values{Fields: map[string]string{"outcome": outcome, "notes": "restored from the nightly snapshot"},
		Lists: map[string][]map[string]string{
			"systems": {{"system": "sys-db", "rto_minutes": "300", "rpo_minutes": "30", "integrity_checked": "yes"},
				{"system": "sys-wiki", "rto_minutes": "60", "rpo_minutes": "120", "integrity_checked": "yes"}},
			"findings": findings}}
}

// The coordinator plans a database restore for two weeks ahead; the
// participants (dr_team, the coordinator, the plan's owner) are told the
// date; the results task opens on the exercise day; the results are
// measured against the targets (the database missed its 4h RTO, the wiki
// met its own 24h targets); the finding becomes dan's follow-up, and the
// test closes when it is done. Every step is audited under the control.
func TestDRTestPlanResultsFollowUpToClosure(t *testing.T) {
	h := newHarness(t)
	id := "dr-test/2026-04-01"
	h.On(humantask.ID(id, "plan"), policytest.Answer{After: day, By: "cora", Action: humantask.ActionDone, Values: planned("2026-04-15")})
	h.On(humantask.ID(id, "results"), policytest.Answer{After: 6 * time.Hour, By: "cora", Action: humantask.ActionDone,
		Values: recovered("pass", map[string]string{"title": "Speed up the database restore", "owner": "dan", "due": "2026-05-01"})})
	h.On(humantask.ID(id, "follow-up/1"), policytest.Answer{After: 10 * day, By: "dan", Action: humantask.ActionDone})
	st, err := runDR(h, id, Input{ScheduledRun: workflows.ScheduledRun{DR: &drPlan, DuePeriod: 7 * day}, Scenario: "region-loss"})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Started[humantask.ID(id, "results")]; !got.Equal(time.Date(2026, 4, 15, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("results task opened %v, want the exercise day at 09:00 UTC", got)
	}
	if st.Stage != act.StatusClosed || !st.Passed || !slices.Equal(st.FollowUps, []string{humantask.ID(id, "follow-up/1")}) {
		t.Errorf("status %+v: want closed, passed, one follow-up", st)
	}
	if f := h.Task(humantask.ID(id, "follow-up/1")); f.AssigneeID != "dan" {
		t.Errorf("follow-up assigned to %s, want dan", f.AssigneeID)
	}
	var notified []string
	if err := h.DB.Owner.Select(&notified, `SELECT recipient_id FROM notifications WHERE purpose = 'dr-test-scheduled' ORDER BY recipient_id`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"coby", "cora", "dan", "eve"}; !slices.Equal(notified, want) {
		t.Errorf("notified %v, want %v", notified, want)
	}
	type row struct {
		System string `db:"system_id"`
		RTOMet bool   `db:"rto_met"`
		RPOMet bool   `db:"rpo_met"`
		Target string `db:"rto_target"`
	}
	var rows []row
	if err := h.DB.Owner.Select(&rows, `SELECT system_id, rto_met, rpo_met, rto_target::text FROM dr_test_systems WHERE test_id = $1 ORDER BY system_id`, id); err != nil {
		t.Fatal(err)
	}
	if want := []row{{"sys-db", false, true, "04:00:00"}, {"sys-wiki", true, true, "24:00:00"}}; !slices.Equal(rows, want) {
		t.Errorf("systems %+v, want %+v", rows, want)
	}
	if n := h.Count(`SELECT count(*) FROM dr_tests WHERE id = $1 AND status = 'closed' AND passed AND exercise_date = '2026-04-15'
		AND scenario = 'database-restore' AND closed_at IS NOT NULL`, id); n != 1 {
		t.Errorf("the test's record is not closed, passed, with its plan")
	}
	if n := h.Count(`SELECT count(*) FROM dr_test_findings WHERE test_id = $1 AND closed_by = 'dan' AND closed_at IS NOT NULL`, id); n != 1 {
		t.Errorf("the finding is not closed by dan")
	}
	var actions []string
	if err := h.DB.Owner.Select(&actions, `SELECT action FROM audit_log WHERE subject = $1 AND control_id = 'business-continuity-testing' ORDER BY id`, id); err != nil {
		t.Fatal(err)
	}
	want := []string{"dr-test.opened", "dr-test.planned", "dr-test.participants-notified", "dr-test.results", "dr-test.finding-closed", "dr-test.closed"}
	if !slices.Equal(actions, want) {
		t.Errorf("audited %v, want %v", actions, want)
	}
}

// A failed test opens the plan owner's "update the plan" task beside the
// findings, and the test stays open until both are done.
func TestDRTestFailedOpensPlanUpdate(t *testing.T) {
	h := newHarness(t)
	id := "dr-test/failed"
	h.On(humantask.ID(id, "plan"), policytest.Answer{By: "cora", Action: humantask.ActionDone, Values: planned("2026-04-10")})
	h.On(humantask.ID(id, "results"), policytest.Answer{By: "cora", Action: humantask.ActionDone,
		Values: recovered("fail", map[string]string{"title": "Snapshots were not replicated", "owner": "eve", "due": "2026-04-30"})})
	h.On(humantask.ID(id, "follow-up/1"), policytest.Answer{After: day, By: "eve", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "follow-up/2"), policytest.Answer{After: 20 * day, By: "coby", Action: humantask.ActionDone})
	st, err := runDR(h, id, Input{ScheduledRun: workflows.ScheduledRun{DR: &drPlan}})
	if err != nil {
		t.Fatal(err)
	}
	update := h.Task(humantask.ID(id, "follow-up/2"))
	if update.AssigneeID != "coby" || st.Passed || st.Stage != act.StatusClosed {
		t.Errorf("plan update to %s, status %+v: want coby's task, a failed test closed", update.AssigneeID, st)
	}
	if n := h.Count(`SELECT count(*) FROM dr_test_findings WHERE test_id = $1 AND kind = 'plan-update' AND owner_id = 'coby' AND closed_by = 'coby'`, id); n != 1 {
		t.Errorf("no closed plan-update finding for coby")
	}
	closed := h.Count(`SELECT count(*) FROM dr_tests WHERE id = $1 AND closed_at >= $2`, id, h.Started[humantask.ID(id, "follow-up/2")].Add(20*day))
	if closed != 1 {
		t.Errorf("the test closed before the plan update was done")
	}
}

// A failed test without a finding is refused by the results form: the form
// requires findings when the outcome is fail.
func TestDRResultsFormNeedsFindingsOnFailure(t *testing.T) {
	f := resultsForm([]act.System{{ID: "sys-db", Name: "DB", Criticality: "critical"}}, []string{"cora"})
	v := recovered("fail")
	v.Lists["systems"] = v.Lists["systems"][:1]
	if err := f.Validate(v); err == nil || err.Error() != "Findings needs at least one entry" {
		t.Errorf("validate: %v, want the findings required", err)
	}
}

// The three forms are well-formed, as the HumanTask workflow checks them
// before it records the task.
func TestDRFormsAreWellFormed(t *testing.T) {
	systems := []act.System{{ID: "sys-db", Name: "DB", Criticality: "critical"}}
	for name, f := range map[string]*humantask.Form{"plan": planForm(systems), "results": resultsForm(systems, []string{"cora"}), "restore": restoreForm()} {
		if err := f.Check(); err != nil {
			t.Errorf("%s form: %v", name, err)
		}
	}
	if err := restoreForm().Validate(humantask.Values{Fields: map[string]string{"restored_what": "snap", "restored_where": "staging",
		"minutes": "-5", "integrity_checked": "yes", "outcome": "fail"}}); err == nil ||
		err.Error() != "Notes is required; Time the restore took (minutes) is -5: it must be at least 0" {
		t.Errorf("restore form: %v, want the negative time and the failure's missing notes refused", err)
	}
}
