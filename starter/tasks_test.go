package main

import (
	"context"
	"strings"
	"testing"
	"time"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/workflows/humantask"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
)

// humanTaskWorker runs the real HumanTask and its activities on the test's servers.
func humanTaskWorker(t *testing.T, db *testenv.DB) *devmail.Sink {
	t.Helper()
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	signer, _ := links.NewSigner([]links.Key{{Secret: []byte("starter-test-link-key-0123")}})
	w := worker.New(testenv.Temporal(t), testenv.TaskQueue(t), worker.Options{})
	w.RegisterWorkflowWithOptions(humantask.Workflow, workflow.RegisterOptions{Name: humantask.WorkflowName})
	w.RegisterActivity(&taskact.Tasks{DB: db.App})
	w.RegisterActivity(&taskact.Notifier{DB: db.App, Mailer: &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"},
		Links: signer, BaseURL: "http://portal.test", LinkTTL: time.Hour})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return sink
}

func TestTasksCommands(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('mia', 'mia@example.com', 'Mia Manager');
		INSERT INTO people (id, email, name, manager_id) VALUES ('ann', 'ann@example.com', 'Ann Analyst', 'mia')`)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	sink := humanTaskWorker(t, db)

	code, out, errOut := starterIn(t, db, "tasks", "assign", "--to", "ann", "--subject", "Rotate the API keys!", "--due", "2h", "--actions", "approve,reject")
	id := strings.TrimSpace(out)
	if code != 0 || id != "task/manual/ann/rotate-the-api-keys" {
		t.Fatalf("assign: exit %d, out %q, err %q", code, out, errOut)
	}
	// --control more than once, or comma-separated: the task evidences each, once.
	code, out, _ = starterIn(t, db, "tasks", "assign", "--to", "ann", "--subject", "Sign the NDA", "--due", "1s",
		"--control", "CC6.2", "--control", "CC1.4, CC6.2")
	overdueID := strings.TrimSpace(out)
	if code != 0 {
		t.Fatalf("assign: exit %d", code)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(sink.Messages()) < 3 { // ann twice, then mia for the overdue one
		if time.Now().After(deadline) {
			t.Fatalf("emails: %d", len(sink.Messages()))
		}
		time.Sleep(100 * time.Millisecond)
	}

	var controls []string
	db.Owner.Select(&controls, `SELECT unnest(control_ids) FROM tasks WHERE id = $1`, overdueID)
	if strings.Join(controls, ",") != "CC6.2,CC1.4" {
		t.Errorf("task %s evidences %v, want CC6.2 and CC1.4", overdueID, controls)
	}
	for _, c := range []string{"CC6.2", "CC1.4"} {
		var n int
		db.Owner.Get(&n, `SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'task.created' AND control_id = $2`, overdueID, c)
		if n != 1 {
			t.Errorf("%d task.created audit entries under %s, want 1", n, c)
		}
	}

	code, out, errOut = starterIn(t, db, "tasks")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("tasks: exit %d\n%s%s", code, out, errOut)
	}
	// Earliest due first; only the overdue one is marked.
	if f := strings.Fields(lines[1]); f[0] != overdueID || f[1] != "ann" || !strings.Contains(lines[1], "OVERDUE") || !strings.HasSuffix(lines[1], "Sign the NDA") {
		t.Errorf("overdue line: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != id || strings.Contains(lines[2], "OVERDUE") || !strings.HasSuffix(lines[2], "Rotate the API keys!") {
		t.Errorf("open line: %q", lines[2])
	}

	if code, _, errOut = starterIn(t, db, "tasks", "assign", "--to", "ann", "--subject", "Rotate the API keys"); code != 1 || !strings.Contains(errOut, "already open") {
		t.Errorf("duplicate assign: exit %d, %q", code, errOut)
	}
	if code, _, errOut = starterIn(t, db, "tasks", "assign", "--to", "nobody", "--subject", "x"); code != 2 || !strings.Contains(errOut, `"nobody" is not in the directory`) {
		t.Errorf("unknown assignee: exit %d, %q", code, errOut)
	}
	if code, _, errOut = starterIn(t, db, "tasks", "complete", id, "--action", "approve", "--as", "mallory"); code != 1 || !strings.Contains(errOut, `"mallory" may not act`) {
		t.Errorf("complete as a stranger: exit %d, %q", code, errOut)
	}
	if code, _, errOut = starterIn(t, db, "tasks", "complete", id, "--action", "approve"); code != 2 {
		t.Errorf("complete without --as: exit %d, %q", code, errOut)
	}
	code, out, errOut = starterIn(t, db, "tasks", "complete", id, "--action", "approve", "--as", "ann", "--note", "rotated")
	if code != 0 || !strings.HasPrefix(out, id+": approve by ann at ") {
		t.Fatalf("complete: exit %d, %q %q", code, out, errOut)
	}
	// The overdue one was escalated to the manager, who may now complete it.
	if code, out, errOut = starterIn(t, db, "tasks", "complete", overdueID, "--action", "done", "--as", "mia"); code != 0 {
		t.Fatalf("complete by the manager: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ = starterIn(t, db, "tasks"); code != 0 || strings.TrimSpace(out) != "no open tasks" {
		t.Errorf("after completing both: %q", out)
	}
	// Once closed, the same chore can be assigned again, under the next number.
	if code, out, errOut = starterIn(t, db, "tasks", "assign", "--to", "ann", "--subject", "Rotate the API keys!"); code != 0 || strings.TrimSpace(out) != id+"/2" {
		t.Errorf("assign again: exit %d, %q %q", code, out, errOut)
	}
	var outcome string
	db.App.Get(&outcome, `SELECT outcome_action || ' ' || outcome_by || ' ' || outcome_note FROM tasks WHERE id = $1`, id)
	if outcome != "approve ann rotated" {
		t.Errorf("recorded outcome %q", outcome)
	}
	// The outcome is ann's; the audit log says who acted for her.
	var actor string
	db.App.Get(&actor, `SELECT actor FROM audit_log WHERE action = 'task.completed' AND subject = $1`, id)
	if actor != onBehalfOf("ann") {
		t.Errorf("task.completed audited as %q, want %q", actor, onBehalfOf("ann"))
	}
}

// A database recreated under a Temporal server that outlives it: the task's
// workflow exists in Temporal while Postgres has no row. A plain assign is
// refused; --existing-ok reports it and goes on (the demo load does so).
func TestTasksAssignExistingOKAfterTheDatabaseWasRecreated(t *testing.T) {
	db := testenv.Postgres(t)
	people := `INSERT INTO people (id, email, name) VALUES ('ann', 'ann@example.com', 'Ann Analyst')`
	db.Owner.MustExec(people)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	humanTaskWorker(t, db)
	args := []string{"tasks", "assign", "--to", "ann", "--subject", "Check the committee", "--id", "task/demo/" + t.Name()}
	if code, _, errOut := starterIn(t, db, args...); code != 0 {
		t.Fatalf("assign: exit %d, %q", code, errOut)
	}

	recreated := testenv.Postgres(t)
	recreated.Owner.MustExec(people)
	if code, _, errOut := starterIn(t, recreated, args...); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("assign again on the recreated database: exit %d, %q; want refused as existing", code, errOut)
	}
	code, out, errOut := starterIn(t, recreated, append([]string{args[0], args[1], "--existing-ok"}, args[2:]...)...)
	if code != 0 || strings.TrimSpace(out) != "task/demo/"+t.Name() || !strings.Contains(errOut, "already exists in Temporal; nothing started") {
		t.Errorf("--existing-ok: exit %d, out %q, err %q; want exit 0 naming the task", code, out, errOut)
	}
	t.Cleanup(func() {
		testenv.Temporal(t).TerminateWorkflow(context.Background(), "task/demo/"+t.Name(), "", "test over")
	})
}
