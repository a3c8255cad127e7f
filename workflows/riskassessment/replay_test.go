package riskassessment

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/riskassessment"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/history"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

const replayID = "annual-risk-assessment/replay"

// TestRiskAssessmentReplay replays an assessment recorded on the dev
// server: two owners, eve proposing a risk; the officer sends it back once,
// then signs off; pat's acceptance above tolerance is refused by the
// officer and pat re-treats it. UPDATE_HISTORIES=1 records it again.
func TestRiskAssessmentReplay(t *testing.T) {
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		recordReplay(t)
	}
	history.Replay(t, "risk_assessment.json", WorkflowName, Workflow, replayID)
}

func recordReplay(t *testing.T) {
	eve := ownerValues(score{"4", "5", "2", "3", "mitigate", "backups"}, score{"2", "5", "1", "4", "mitigate", "key-management"})
	eve.Lists = map[string][]map[string]string{fieldNewRisks: {{fieldTitle: "Insider access", fieldLikelihood: "2", fieldImpact: "4",
		fieldResidualLikelihood: "1", fieldResidualImpact: "3", fieldTreatment: "mitigate", fieldJustification: "new this year"}}}
	pat := ownerValues(score{"2", "5", "2", "5", "accept", ""})
	script := map[string]policytest.Answer{
		"owner/1/eve":              {By: "eve", Action: humantask.ActionDone, Values: eve},
		"owner/1/pat":              {By: "pat", Action: humantask.ActionDone, Values: pat},
		"review/1":                 {By: "sam", Action: humantask.ActionReject, Note: "R-1 needs a better justification"},
		"owner/2/eve":              {By: "eve", Action: humantask.ActionDone, Values: eve},
		"owner/2/pat":              {By: "pat", Action: humantask.ActionDone, Values: pat},
		"review/2":                 {By: "sam", Action: humantask.ActionApprove},
		"acceptance/R-3/1/officer": {By: "sam", Action: humantask.ActionReject, Note: "too high to accept"},
		"re-review/R-3/1":          {By: "pat", Action: humantask.ActionDone, Values: ownerValues(score{"2", "5", "1", "5", "mitigate", "backups"})},
	}
	db := testenv.Postgres(t)
	policytest.SeedWorld(t, db)
	db.Owner.MustExec(seedRegister)
	c := testenv.Temporal(t)
	queue := policytest.StartRecordingWorker(t, c, db, func(w worker.Registry) {
		w.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
		w.RegisterActivity(&act.Activities{DB: db.App})
	}, func(_ humantask.Input, purpose string) (policytest.Answer, bool) {
		a, ok := script[purpose]
		return a, ok
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wf, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: replayID, TaskQueue: queue}, WorkflowName, scheduled())
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := wf.Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Stage != StageDone || len(st.ReReviews) != 1 {
		t.Fatalf("recorded run ended %+v: want done after one re-review", st)
	}
	history.Write(ctx, t, c, replayID, wf.GetRunID(), "risk_assessment.json")
}
