package riskassessment

import (
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/riskassessment"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var start = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

const testID = "annual-risk-assessment/test"

// seedRegister is a register of three risks with two owners, eve (R-1,
// R-2) and pat (R-3, accepted with a residual 2 x 5 = 10), and the
// controls the assessment evidences.
const seedRegister = `
	INSERT INTO controls (id, title, processes) VALUES ('annual-risk-assessment', 'Risk Assessment', '{annual-risk-assessment}'),
		('backups', 'Backups', '{}'), ('key-management', 'Key Management', '{}');
	INSERT INTO risks (id, title, owner_id, likelihood, impact, treatment, control_ids, residual_likelihood, residual_impact) VALUES
		('R-1', 'Ransomware', 'eve', 3, 5, 'mitigate', '{backups}', 2, 3),
		('R-2', 'Key compromise', 'eve', 2, 5, 'mitigate', '{key-management}', 1, 4),
		('R-3', 'Region loss', 'pat', 2, 5, 'accept', '{}', 2, 5);`

func newHarness(t *testing.T) *policytest.Harness {
	h := policytest.New(t, start, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	})
	h.DB.Owner.MustExec(seedRegister)
	h.Env.RegisterActivity(&act.Activities{DB: h.DB.App})
	return h
}

func run(h *policytest.Harness) (Status, error) {
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testID})
	h.Env.ExecuteWorkflow(WorkflowName, scheduled())
	if !h.Env.IsWorkflowCompleted() {
		h.T.Fatal("the assessment did not complete")
	}
	var st Status
	if err := h.Env.GetWorkflowError(); err != nil {
		return st, err
	}
	return st, h.Env.GetWorkflowResult(&st)
}

// scheduled is the run the demo obligation's schedule hands the workflow.
func scheduled() workflows.ScheduledRun {
	return workflows.ScheduledRun{ObligationID: "annual-risk-assessment", Process: Process, DuePeriod: 21 * day, RemindEvery: 7 * day,
		Escalation: []workflows.EscalationStep{{After: 3 * day, To: workflows.EscalateToManager}}, RiskTolerance: 9}
}

// score is one risk's answers: likelihood, impact, residual likelihood and
// impact, treatment, controls.
type score struct {
	l, i, rl, ri    string
	treatment, ctls string
}

// ownerValues fills an owner's form for their risks, in the form's order.
func ownerValues(scores ...score) humantask.Values {
	v := humantask.Values{Fields: map[string]string{}}
	for n, s := range scores {
		for f, val := range map[string]string{fieldLikelihood: s.l, fieldImpact: s.i, fieldResidualLikelihood: s.rl, fieldResidualImpact: s.ri,
			fieldTreatment: s.treatment, fieldJustification: "still valid because the threat is unchanged", fieldControls: s.ctls} {
			v.Fields[groupField(n, f)] = val
		}
	}
	return v
}

func task(purpose string) string { return humantask.ID(testID, purpose) }

// checkForms makes sure every scripted answer passes its task's form, as
// the portal and the update validator would require.
func checkForms(h *policytest.Harness) {
	h.T.Helper()
	for _, in := range h.Tasks {
		a := h.Script[in.TaskID]
		if in.Form.Applies(a.Action) {
			if err := in.Form.Validate(a.Values); err != nil {
				h.T.Errorf("task %s: the answer does not pass its form: %v", in.TaskID, err)
			}
		}
	}
}
