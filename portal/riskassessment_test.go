package main_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	riskact "github.com/complyflow/complyflow/activities/riskassessment"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/riskassessment"
)

// A risk owner answers their assessment task from the emailed link: the
// page draws one group of fields per risk and the new-risks list, refuses
// a form missing a risk's scores, and the completed form reaches the
// workflow, which records the scores and the proposed risk and hands the
// officer the review.
func TestRiskOwnerAnswersTheirFormInThePortal(t *testing.T) {
	s := newTaskSystem(t, func(w worker.Registry, s *taskSystem) {
		w.RegisterWorkflowWithOptions(riskassessment.Workflow, workflow.RegisterOptions{Name: riskassessment.WorkflowName})
		w.RegisterActivity(&riskact.Activities{DB: s.db.App})
	})
	s.db.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('security_officer', 'mia'), ('ceo', 'mia');
		INSERT INTO controls (id, title, processes) VALUES ('annual-risk-assessment', 'Risk Assessment', '{annual-risk-assessment}'), ('backups', 'Backups', '{}');
		INSERT INTO risks (id, title, owner_id, likelihood, impact, treatment, control_ids, residual_likelihood, residual_impact) VALUES
			('R-1', 'Ransomware', 'ann', 3, 5, 'mitigate', '{backups}', 2, 3), ('R-2', 'Region loss', 'ann', 2, 5, 'transfer', '{}', 1, 5)`)
	id := "annual-risk-assessment/portal-test"
	_, err := s.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: s.queue}, riskassessment.WorkflowName,
		workflows.ScheduledRun{ObligationID: "annual-risk-assessment", Process: riskassessment.Process, DuePeriod: 21 * 24 * time.Hour, RiskTolerance: 9})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.temporal.TerminateWorkflow(context.Background(), id, "", "test over") })
	taskID := humantask.ID(id, "owner/1/ann")
	var text string
	eventually(t, "the owner's email", func() bool {
		for _, m := range s.mail.Messages() {
			if m.To[0] == "ann@example.com" {
				_, text = textPart(t, m.Raw)
				return true
			}
		}
		return false
	})
	link := linkRE.FindString(text)
	if link == "" {
		t.Fatalf("no portal link in the owner's email:\n%s", text)
	}
	code, page := send(t, http.MethodGet, link, nil)
	for _, want := range []string{"Re-score your risks", "R-1 Ransomware: likelihood (1-5)", `<select id="r1_likelihood" name="r1_likelihood">`,
		`<select id="r2_treatment" name="r2_treatment">`, `name="r2_justification"`, `name="new_risks.0.title"`, `name="new_risks.0.residual_impact"`} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("page (%d) lacks %s", code, want)
		}
	}
	form := url.Values{"action": {"done"}}
	for _, f := range []string{"likelihood", "impact", "residual_likelihood", "residual_impact"} {
		form.Set("r1_"+f, "3")
	}
	form.Set("r1_treatment", "mitigate")
	form.Set("r1_justification", "backups tested quarterly")
	if code, page := send(t, http.MethodPost, link, form); code != http.StatusUnprocessableEntity || !strings.Contains(page, "R-2 Region loss: likelihood (1-5) is required") {
		t.Fatalf("a form without R-2's scores: %d\n%s", code, page)
	}
	for _, f := range []string{"likelihood", "impact", "residual_likelihood", "residual_impact"} {
		form.Set("r2_"+f, "2")
		form.Set("new_risks.0."+f, "4")
	}
	form.Set("r2_treatment", "transfer")
	form.Set("r2_justification", "insured")
	form.Set("new_risks.0.title", "Insider access")
	form.Set("new_risks.0.treatment", "mitigate")
	form.Set("new_risks.0.justification", "new admins this year")
	if code, page := send(t, http.MethodPost, link, form); code != http.StatusOK {
		t.Fatalf("complete: %d\n%s", code, page)
	}
	eventually(t, "the officer's review task", func() bool {
		return len(s.strings(t, `SELECT id FROM tasks WHERE id = $1 AND assignee_id = 'mia'`, humantask.ID(id, "review/1"))) == 1
	})
	if got := s.strings(t, `SELECT risk_id || ' ' || (likelihood * impact)::text FROM risk_assessment_scores WHERE assessment_id = $1 ORDER BY risk_id`, id); strings.Join(got, ",") != "R-1 9,R-2 4,R-2026-ann-1-1 16" {
		t.Errorf("scores recorded %v", got)
	}
	if got := s.strings(t, `SELECT outcome_by FROM tasks WHERE id = $1 AND status = 'completed'`, taskID); len(got) != 1 || got[0] != "ann" {
		t.Errorf("the owner's task is not completed by ann: %v", got)
	}
}
