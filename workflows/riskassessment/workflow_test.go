package riskassessment

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// Two owners each get one task listing their risks; eve re-scores hers and
// proposes a new risk, pat changes R-3's treatment to mitigate. The officer
// sends it back once with a note, then signs off. Each year's scores are
// kept per round; the new risk joins the register owned by eve; nothing
// needs an acceptance, so the assessment ends at the sign-off.
func TestRiskAssessmentTwoOwnersOneProposesSentBackThenSignedOff(t *testing.T) {
	h := newHarness(t)
	eve := ownerValues(score{"4", "5", "2", "3", "mitigate", "backups"}, score{"2", "5", "1", "4", "mitigate", "key-management, nope"})
	eve.Lists = map[string][]map[string]string{fieldNewRisks: {{fieldTitle: "Insider access", fieldDescription: "An admin misuses access",
		fieldLikelihood: "2", fieldImpact: "4", fieldResidualLikelihood: "1", fieldResidualImpact: "3", fieldTreatment: "mitigate",
		fieldJustification: "new this year", fieldControls: "key-management"}}}
	pat := ownerValues(score{"2", "5", "1", "5", "mitigate", "backups"})
	for round := 1; round <= 2; round++ {
		r := string(rune('0' + round))
		h.On(task("owner/"+r+"/eve"), policytest.Answer{After: 2 * day, By: "eve", Action: humantask.ActionDone, Values: eve})
		h.On(task("owner/"+r+"/pat"), policytest.Answer{After: 5 * day, By: "pat", Action: humantask.ActionDone, Values: pat})
	}
	h.On(task("review/1"), policytest.Answer{After: day, By: "sam", Action: humantask.ActionReject, Note: "R-1 needs a better justification"})
	h.On(task("review/2"), policytest.Answer{After: day, By: "sam", Action: humantask.ActionApprove})
	st, err := run(h)
	if err != nil {
		t.Fatal(err)
	}
	checkForms(h)
	want := []string{task("owner/1/eve"), task("owner/1/pat"), task("review/1"), task("owner/2/eve"), task("owner/2/pat"), task("review/2")}
	// The owners' tasks of a round start together, in no fixed order.
	got := h.TaskIDs()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("tasks %v, want %v", got, want)
	}
	// One task per owner listing their risks: eve's lists and offers new risks; pat's R-3.
	eveTask := h.Task(task("owner/1/eve"))
	if !strings.Contains(eveTask.Body, "R-1 Ransomware") || !strings.Contains(eveTask.Body, "R-2 Key compromise") || strings.Contains(eveTask.Body, "R-3") {
		t.Errorf("eve's task lists the wrong risks:\n%s", eveTask.Body)
	}
	if !strings.Contains(eveTask.Body, "The program's controls, to link: annual-risk-assessment, backups, key-management, personnel-accountability.") {
		t.Errorf("eve's task does not list the controls she may link:\n%s", eveTask.Body)
	}
	if f := eveTask.Form.Fields; f[len(f)-1].Name != fieldNewRisks || len(f) != 2*7+1 {
		t.Errorf("eve's form has %d fields, want 7 per risk and the new risks list", len(f))
	}
	if body := h.Task(task("owner/2/pat")).Body; !strings.Contains(body, "sent the assessment back: R-1 needs a better justification") {
		t.Errorf("round 2 does not carry the officer's note:\n%s", body)
	}
	// The officer's review lists the controls the register kept, not a mistyped one.
	if body := h.Task(task("review/1")).Body; !strings.Contains(body, "key-management") || strings.Contains(body, "nope") {
		t.Errorf("the officer's review does not show R-2's controls as the register kept them:\n%s", body)
	}
	newID := "R-2026-eve-2-1" // proposed in round 2, the round signed off
	if st.Stage != StageDone || st.Round != 2 || !slices.Contains(st.Proposed, newID) {
		t.Errorf("status %+v: want done in round 2 with %s proposed", st, newID)
	}
	if n := h.Count(`SELECT count(*) FROM risks WHERE id = $1 AND owner_id = 'eve' AND title = 'Insider access' AND control_ids = '{key-management}'`, newID); n != 1 {
		t.Errorf("the proposed risk is not in the register, owned by eve")
	}
	// The register holds the scores; the year's rounds are kept; the unknown control is left off.
	if n := h.Count(`SELECT count(*) FROM risks WHERE id = 'R-1' AND likelihood = 4 AND impact = 5`); n != 1 {
		t.Error("R-1 was not re-scored in the register")
	}
	if n := h.Count(`SELECT count(*) FROM risks WHERE id = 'R-3' AND treatment = 'mitigate' AND residual_likelihood = 1`); n != 1 {
		t.Error("R-3's new treatment is not in the register")
	}
	if n := h.Count(`SELECT count(*) FROM risk_assessment_scores WHERE assessment_id = $1 AND risk_id = 'R-2' AND control_ids = '{key-management}'`, testID); n != 2 {
		t.Errorf("R-2 has %d scores, want one per round with the unknown control left off", n)
	}
	if n := h.Count(`SELECT count(*) FROM risk_assessments WHERE id = $1 AND status = 'signed-off' AND signed_off_by = 'sam' AND year = 2026`, testID); n != 1 {
		t.Error("the assessment is not signed off by sam")
	}
	if n := h.Count(`SELECT count(*) FROM risk_signoffs WHERE assessment_id = $1 AND step = 'assessment' AND decision = 'reject' AND note <> ''`, testID); n != 1 {
		t.Error("the send-back is not recorded with its note")
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND control_id = 'annual-risk-assessment'`, testID); n != 7 {
		t.Errorf("%d audit entries under the control, want 7 (opened, 4 scored, 2 reviews)", n)
	}
}

// pat keeps R-3 accepted above the tolerance (residual 10 > 9): after the
// sign-off the officer signs the acceptance with an expiry, then the CEO;
// at the expiry pat reviews R-3 again and keeps it accepted, so both sign
// again (the officer's date more than a year out is capped at a year); the
// second time the CEO refuses and pat re-treats it at once.
func TestRiskAssessmentAcceptanceAboveToleranceTwoSignOffsAndExpiry(t *testing.T) {
	h := newHarness(t)
	h.On(task("owner/1/eve"), policytest.Answer{After: day, By: "eve", Action: humantask.ActionDone,
		Values: ownerValues(score{"3", "5", "2", "3", "mitigate", "backups"}, score{"2", "5", "1", "4", "mitigate", ""})})
	accepted := ownerValues(score{"2", "5", "2", "5", "accept", ""})
	h.On(task("owner/1/pat"), policytest.Answer{After: day, By: "pat", Action: humantask.ActionDone, Values: accepted})
	h.On(task("review/1"), policytest.Answer{After: day, By: "sam", Action: humantask.ActionApprove})
	expiry := humantask.Values{Fields: map[string]string{fieldExpiresOn: "2026-06-30"}}
	h.On(task("acceptance/R-3/1/officer"), policytest.Answer{After: day, By: "sam", Action: humantask.ActionApprove, Values: expiry})
	h.On(task("acceptance/R-3/1/ceo"), policytest.Answer{After: 2 * day, By: "cleo", Action: humantask.ActionApprove})
	h.On(task("re-review/R-3/1"), policytest.Answer{After: day, By: "pat", Action: humantask.ActionDone, Values: accepted})
	h.On(task("acceptance/R-3/2/officer"), policytest.Answer{After: day, By: "sam", Action: humantask.ActionApprove,
		Values: humantask.Values{Fields: map[string]string{fieldExpiresOn: "2030-01-01"}}}) // more than a year: capped
	h.On(task("acceptance/R-3/2/ceo"), policytest.Answer{After: day, By: "cleo", Action: humantask.ActionReject, Note: "mitigate it: a second region"})
	h.On(task("re-review/R-3/2"), policytest.Answer{After: day, By: "pat", Action: humantask.ActionDone,
		Values: ownerValues(score{"2", "5", "1", "5", "mitigate", "backups"})})
	st, err := run(h)
	if err != nil {
		t.Fatal(err)
	}
	checkForms(h)
	want := []string{task("owner/1/eve"), task("owner/1/pat"), task("review/1"), task("acceptance/R-3/1/officer"), task("acceptance/R-3/1/ceo"),
		task("re-review/R-3/1"), task("acceptance/R-3/2/officer"), task("acceptance/R-3/2/ceo"), task("re-review/R-3/2")}
	got := h.TaskIDs()
	if len(got) >= 2 {
		slices.Sort(got[:2]) // the two owners' tasks start together, in no fixed order
	}
	if !slices.Equal(got, want) {
		t.Fatalf("tasks %v, want %v", got, want)
	}
	if a := h.Task(task("acceptance/R-3/1/ceo")).AssigneeID; a != "cleo" {
		t.Errorf("the CEO's sign-off went to %s, want cleo", a)
	}
	// The re-review starts at the expiry, not before.
	exp := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	if at := h.Started[task("re-review/R-3/1")]; !at.Equal(exp) {
		t.Errorf("the re-review started at %s, want the expiry %s", at, exp)
	}
	if body := h.Task(task("re-review/R-3/1")).Body; !strings.Contains(body, "Its acceptance expired on 2026-06-30") {
		t.Errorf("the re-review does not say the acceptance expired:\n%s", body)
	}
	if body := h.Task(task("re-review/R-3/2")).Body; !strings.Contains(body, "Its acceptance was refused") {
		t.Errorf("the refused acceptance's re-review does not say so:\n%s", body)
	}
	if len(st.Acceptances) != 1 || !st.Acceptances[0].ExpiresOn.Equal(exp) || st.Stage != StageDone || !slices.Equal(st.ReReviews, []string{"R-3", "R-3"}) {
		t.Errorf("status %+v: want one acceptance until %s, two re-reviews, done", st, exp)
	}
	if n := h.Count(`SELECT count(*) FROM risk_signoffs WHERE risk_id = 'R-3' AND decision = 'approve'`); n != 3 {
		t.Errorf("%d approvals of R-3's acceptance, want 3 (officer and CEO, then the officer again)", n)
	}
	if n := h.Count(`SELECT count(*) FROM risk_signoffs WHERE step = 'acceptance-officer' AND expires_on BETWEEN decided_at::date + 364 AND decided_at::date + 365`); n != 1 {
		t.Error("an expiry more than a year out is not capped at a year")
	}
	if n := h.Count(`SELECT count(*) FROM risks WHERE id = 'R-3' AND acceptance_expires_on = '2026-06-30' AND treatment = 'mitigate'`); n != 1 {
		t.Error("R-3 does not keep its signed expiry and its new treatment")
	}
}
