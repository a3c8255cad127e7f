package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	riskact "github.com/complyflow/complyflow/activities/riskassessment"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/riskassessment"
)

// `import risks` reports every bad row as FILE:LINE and imports nothing;
// `records risk-assessments` shows each risk's change since the
// assessment before, who assessed it and when, per year.
func TestRisksImportAndAssessmentRecords(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam'), ('eve', 'eve@example.com', 'Eve');
		INSERT INTO controls (id, title) VALUES ('backups', 'Backups')`)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,title,description,category,owner_id,likelihood,impact,treatment,controls,residual_likelihood,residual_impact\n"+
		"R-1,Ransomware,,security,eve,3,5,mitigate,backups,2,3\nR-2,Region loss,,availability,ghost,2,5,keep,,2,5\n"), 0o600)
	code, _, errOut := starterIn(t, db, "import", "risks", bad)
	if code == 0 || !strings.Contains(errOut, bad+`:3: treatment "keep"`) || !strings.Contains(errOut, bad+`:3: owner_id "ghost"`) ||
		!strings.Contains(errOut, "nothing was imported") {
		t.Fatalf("bad file: exit %d, %s", code, errOut)
	}
	good := filepath.Join(dir, "risks.csv")
	os.WriteFile(good, []byte("id,title,description,category,owner_id,likelihood,impact,treatment,controls,residual_likelihood,residual_impact\n"+
		"R-1,Ransomware,,security,eve,3,5,mitigate,backups,2,3\n"), 0o600)
	if code, out, errOut := starterIn(t, db, "import", "risks", good); code != 0 || out != "risks: 1 inserted, 0 updated\n" {
		t.Fatalf("import: exit %d, %q %s", code, out, errOut)
	}
	db.Owner.MustExec(`
		INSERT INTO risk_assessments (id, year, status, risk_tolerance, opened_at, signed_off_by, signed_off_at) VALUES
			('ra/2025', 2025, 'signed-off', 9, '2025-03-01', 'sam', '2025-03-20'), ('ra/2026', 2026, 'open', 9, '2026-03-01', NULL, NULL);
		INSERT INTO risk_assessment_scores (assessment_id, risk_id, round, likelihood, impact, residual_likelihood, residual_impact, treatment,
			task_id, assessed_by, assessed_at) VALUES
			('ra/2025', 'R-1', 1, 3, 5, 2, 3, 'mitigate', 't1', 'eve', '2025-03-05'),
			('ra/2026', 'R-1', 1, 4, 5, 2, 3, 'transfer', 't2', 'eve', '2026-03-04'),
			('ra/2026', 'R-1', 2, 4, 5, 2, 4, 'transfer', 't3', 'eve', '2026-03-09')`)
	code, out, errOut := starterIn(t, db, "records", "risk-assessments", "--year", "2026")
	if code != 0 || !strings.Contains(out, "score 15->20; residual 6->8; treatment mitigate->transfer") || !strings.Contains(out, "eve") ||
		!strings.Contains(out, "2026-03-09") || strings.Contains(out, "ra/2025 ") {
		t.Fatalf("records --year 2026: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = starterIn(t, db, "records", "risk-assessments", "--json")
	var rows []struct {
		AssessmentID string `json:"assessment_id"`
		Score        int    `json:"score"`
		SignedOffBy  string `json:"signed_off_by"`
		Previous     *struct {
			Score int `json:"score"`
		} `json:"previous"`
	}
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 2 {
		t.Fatalf("records --json: exit %d, %v\n%s", code, err, out)
	}
	if rows[0].AssessmentID != "ra/2025" || rows[0].Previous != nil || rows[0].SignedOffBy != "sam" ||
		rows[1].Score != 20 || rows[1].Previous == nil || rows[1].Previous.Score != 15 {
		t.Errorf("records --json: %+v", rows)
	}
}

// riskProgram is a program in force with the annual-risk-assessment obligation.
const riskProgram = `roles:
  security_officer: [sam]
  ceo: [sam]
policies:
  - {id: risk, title: Risk Assessment Policy, owner: sam, url: "https://example.com/risk"}
controls:
  - id: annual-risk-assessment
    title: Risk Assessment
    policies: [risk]
    processes: [annual-risk-assessment]
    frameworks: {soc2: [CC3.1]}
obligations:
  - id: annual-risk-assessment
    process: annual-risk-assessment
    schedule: {month: march, day: 1, time: "09:00"}
    due: 3w
    controls: [annual-risk-assessment]
    risk_tolerance: 9
`

// `risk-assessment start` refuses an empty register, then starts the
// assessment with the obligation's tolerance, prints its ID last and
// refuses a second start.
func TestRiskAssessmentStart(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam'), ('eve', 'eve@example.com', 'Eve');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam'), ('ceo', 'sam');
		INSERT INTO controls (id, title, processes) VALUES ('annual-risk-assessment', 'Risk Assessment', '{annual-risk-assessment}')`)
	db.Owner.MustExec(`INSERT INTO program_versions (content_hash, file, content, obligation_ids, applied_by) VALUES ('x', 'program.yaml', $1, '{annual-risk-assessment}', 'test')`,
		riskProgram)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	c := testenv.Temporal(t)
	w := worker.New(c, testenv.TaskQueue(t), worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in humantask.Input) (humantask.Outcome, error) {
		return humantask.Outcome{}, workflow.Await(ctx, func() bool { return false }) // the owner has not answered yet
	}, workflow.RegisterOptions{Name: humantask.WorkflowName})
	w.RegisterWorkflowWithOptions(riskassessment.Workflow, workflow.RegisterOptions{Name: riskassessment.WorkflowName})
	w.RegisterActivity(&riskact.Activities{DB: db.App})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	name := "t" + time.Now().Format("150405.000000")
	if code, _, errOut := starterIn(t, db, "risk-assessment", "start", "--name", name); code != 2 || !strings.Contains(errOut, "the risk register is empty") {
		t.Fatalf("empty register: exit %d, %s; want it refused", code, errOut)
	}
	db.Owner.MustExec(`INSERT INTO risks (id, title, owner_id, likelihood, impact, treatment, residual_likelihood, residual_impact)
		VALUES ('R-1', 'Ransomware', 'eve', 3, 5, 'mitigate', 2, 3)`)
	code, out, errOut := starterIn(t, db, "risk-assessment", "start", "--name", name)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id := riskassessment.ID(name)
	if code != 0 || lines[len(lines)-1] != id {
		t.Fatalf("risk-assessment start: exit %d\n%s%s", code, out, errOut)
	}
	t.Cleanup(func() { c.TerminateWorkflow(context.Background(), id, "", "test over") })
	if code, _, errOut := starterIn(t, db, "risk-assessment", "start", "--name", name); code != 2 || !strings.Contains(errOut, "was already started") {
		t.Errorf("second start: exit %d, %s; want it refused", code, errOut)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var tolerance int
		err := db.App.Get(&tolerance, `SELECT risk_tolerance FROM risk_assessments WHERE id = $1`, id)
		if err == nil && tolerance == 9 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the assessment was not opened with the obligation's tolerance: %d, %v", tolerance, err)
		}
	}
}
