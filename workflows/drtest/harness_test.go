package drtest

import (
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/drtest"
	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var start = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// seedDR is the demo's DR world in small: a dr_team, two systems of
// different tiers, the testing and backup controls.
func seedDR(t *testing.T, db *testenv.DB) {
	t.Helper()
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name, manager_id) VALUES ('cora', 'cora@example.com', 'Cora Coordinator', 'coby'),
			('dan', 'dan@example.com', 'Dan DBA', 'coby');
		INSERT INTO roles (role, person_id) VALUES ('dr_team', 'dan'), ('dr_team', 'eve');
		INSERT INTO systems (id, name, owner_id, removal_method, criticality) VALUES
			('sys-db', 'Production database', 'dan', 'manual', 'critical'),
			('sys-wiki', 'Wiki', 'eve', 'manual', 'low'),
			('sys-crm', 'CRM', 'eve', 'manual', 'medium');
		INSERT INTO controls (id, title, processes) VALUES
			('business-continuity-testing', 'BC/DR Testing', '{dr-test}'), ('backups', 'Backups', '{backup-restore-test}')`)
}

// drPlan has targets for the critical tier, and the wiki's own; the CRM has none.
var drPlan = act.Plan{ParticipantsRole: "dr_team", CoordinatorID: "cora", PlanOwnerID: "coby", Targets: []act.RecoveryTarget{
	{Tier: "critical", RTO: 4 * time.Hour, RPO: time.Hour}, {SystemID: "sys-wiki", RTO: 24 * time.Hour, RPO: 24 * time.Hour}}}

func newHarness(t *testing.T) *policytest.Harness {
	h := policytest.New(t, start, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
		env.RegisterWorkflowWithOptions(BackupRestoreTest, workflow.RegisterOptions{Name: BackupRestoreWorkflowName})
	})
	seedDR(t, h.DB)
	h.Env.RegisterActivity(&act.Activities{DB: h.DB.App})
	h.Env.RegisterActivity(&taskact.Tasks{DB: h.DB.App})
	return h
}

func runDR(h *policytest.Harness, id string, in Input) (Status, error) {
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(WorkflowName, in)
	if !h.Env.IsWorkflowCompleted() {
		h.T.Fatal("the DR test did not complete")
	}
	var st Status
	if err := h.Env.GetWorkflowError(); err != nil {
		return st, err
	}
	return st, h.Env.GetWorkflowResult(&st)
}
