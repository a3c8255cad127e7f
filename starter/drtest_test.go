package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	dract "github.com/complyflow/complyflow/activities/drtest"
	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/drtest"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// drProgram is a program in force with the DR plan and its obligation.
const drProgram = `roles:
  security_officer: [sam]
  dr_team: [dan]
policies:
  - {id: bcp, title: Business Continuity Policy, owner: sam, url: "https://example.com/bcp"}
controls:
  - id: business-continuity-testing
    title: BC/DR Testing
    policies: [bcp]
    processes: [dr-test]
    frameworks: {soc2: [A1.3]}
dr:
  participants: dr_team
  coordinator: sam
  plan_owner: sam
  targets:
    tiers: {critical: {rto: 4h, rpo: 1h}}
obligations:
  - id: dr-test
    process: dr-test
    schedule: {cron: "0 10 15 4,10 *"}
    due: 14d
    controls: [business-continuity-testing]
`

// answerDRTasks plans the exercise for a day already past and records a
// pass within the targets, without findings.
func answerDRTasks(ctx workflow.Context, in humantask.Input) (humantask.Outcome, error) {
	out := humantask.Outcome{TaskID: in.TaskID, Action: humantask.ActionDone, By: in.AssigneeID, At: workflow.Now(ctx)}
	if strings.HasSuffix(in.TaskID, "/plan") {
		out.Values = humantask.Values{Fields: map[string]string{"date": "2020-01-15", "scenario": "database-restore"},
			Lists: map[string][]map[string]string{"systems": {{"system": "sys-db"}}}}
	} else {
		out.Values = humantask.Values{Fields: map[string]string{"outcome": "pass"}, Lists: map[string][]map[string]string{
			"systems": {{"system": "sys-db", "rto_minutes": "90", "rpo_minutes": "5", "integrity_checked": "yes"}}}}
	}
	return out, nil
}

// `dr-test start` prints the test's ID last and refuses a second start and
// an unknown scenario; `records dr-tests --json` shows the system measured
// against its target once the test closed.
func TestDRTestStartAndRecords(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'), ('dan', 'dan@example.com', 'Dan DBA');
		INSERT INTO systems (id, name, owner_id, removal_method, criticality) VALUES ('sys-db', 'Production database', 'dan', 'manual', 'critical');
		INSERT INTO controls (id, title, processes) VALUES ('business-continuity-testing', 'BC/DR Testing', '{dr-test}')`)
	db.Owner.MustExec(`INSERT INTO program_versions (content_hash, file, content, obligation_ids, applied_by) VALUES ('x', 'program.yaml', $1, '{dr-test}', 'test')`,
		drProgram)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	c := testenv.Temporal(t)
	w := worker.New(c, testenv.TaskQueue(t), worker.Options{})
	w.RegisterWorkflowWithOptions(answerDRTasks, workflow.RegisterOptions{Name: humantask.WorkflowName})
	w.RegisterWorkflowWithOptions(drtest.Workflow, workflow.RegisterOptions{Name: drtest.WorkflowName})
	w.RegisterActivity(&dract.Activities{DB: db.App})
	w.RegisterActivity(&taskact.Tasks{DB: db.App})
	w.RegisterActivity(&notify.Messages{DB: db.App, Mailer: &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	if code, _, errOut := starterIn(t, db, "dr-test", "start", "--scenario", "meteor"); code != 2 || !strings.Contains(errOut, `scenario "meteor" is not one of`) {
		t.Errorf("unknown scenario: exit %d, %s; want it refused", code, errOut)
	}
	code, out, errOut := starterIn(t, db, "dr-test", "start", "--scenario", "region-loss")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id := drtest.ID(time.Now())
	if code != 0 || lines[len(lines)-1] != id {
		t.Fatalf("dr-test start: exit %d\n%s%s", code, out, errOut)
	}
	t.Cleanup(func() { c.TerminateWorkflow(context.Background(), id, "", "test over") })
	if code, _, errOut := starterIn(t, db, "dr-test", "start"); code != 2 || !strings.Contains(errOut, "was already started") {
		t.Errorf("second start: exit %d, %s; want it refused", code, errOut)
	}
	var status string
	for deadline := time.Now().Add(20 * time.Second); status != dract.StatusClosed; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the DR test is %q, not closed", status)
		}
		db.Owner.Get(&status, `SELECT status FROM dr_tests WHERE id = $1`, id)
	}
	code, out, errOut = starterIn(t, db, "records", "dr-tests", "--json")
	if code != 0 {
		t.Fatalf("records --json: exit %d\n%s", code, errOut)
	}
	var got []dract.Record
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("records --json: %v\n%s", err, out)
	}
	if len(got) != 1 || got[0].Scenario != "database-restore" || got[0].Passed == nil || !*got[0].Passed || len(got[0].Systems) != 1 ||
		got[0].Systems[0].RTOTarget != 4*3600 || got[0].Systems[0].RTOAchieved != 90*60 || !got[0].Systems[0].RTOMet {
		t.Errorf("records --json:\n%s\nwant sys-db recovered in 90m against its 4h target, passed", out)
	}
	if code, out, _ := starterIn(t, db, "records", "dr-tests"); code != 0 || !strings.Contains(out, "1h30m0s (4h0m0s) met") {
		t.Errorf("records dr-tests:\n%s", out)
	}
}

// `records backup-restore-tests` shows the system picked among how many,
// what was restored, where, how long it took and the outcome.
func TestRecordsBackupRestoreTests(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('dan', 'dan@example.com', 'Dan DBA');
		INSERT INTO systems (id, name, owner_id, removal_method, criticality) VALUES ('sys-db', 'Production database', 'dan', 'manual', 'critical');
		INSERT INTO backup_restore_tests (id, candidates, system_id, assignee_id, picked_at, restored_what, restored_where, duration,
			integrity_checked, passed, recorded_by, recorded_at, closed_at)
		VALUES ('backup-restore-test/1', '{sys-db,sys-wiki}', 'sys-db', 'dan', now(), 'snapshot 03-31', 'staging', '42 minutes', true, true, 'dan', now(), now())`)
	code, out, errOut := starterIn(t, db, "records", "backup-restore-tests")
	if code != 0 || !strings.Contains(out, "backup-restore-test/1") || !strings.Contains(out, "sys-db (2)") ||
		!strings.Contains(out, "snapshot 03-31") || !strings.Contains(out, "42m0s") || !strings.Contains(out, "pass") {
		t.Errorf("records backup-restore-tests: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = starterIn(t, db, "records", "backup-restore-tests", "--json")
	var got []dract.RestoreRecord
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || len(got) != 1 || got[0].Seconds == nil || *got[0].Seconds != 42*60 {
		t.Errorf("records backup-restore-tests --json: exit %d, %v\n%s", code, err, out)
	}
}
