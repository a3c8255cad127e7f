package humantask_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/internal/testenv"
)

func evidenceTask(t *testing.T) (*testenv.DB, *humantask.Tasks) {
	t.Helper()
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('mia', 'Mia'), ('sam', 'Sam'), ('ann', 'Ann')`)
	a := &humantask.Tasks{DB: db.App}
	in := humantask.CreateTaskInput{TaskID: "task/e/1", AssigneeID: "ann", Subject: "Review", Due: time.Now().Add(time.Hour),
		Actions: []string{"done", "decline"}, ControlIDs: []string{"CC6.2"}}
	if err := a.CreateTask(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return db, a
}

// Every task step is in the audit log, once, under the task's control.
func TestTaskStepsAreAudited(t *testing.T) {
	db, a := evidenceTask(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ { // retried activities
		if err := a.RecordTaskEvent(ctx, humantask.TaskEventInput{TaskID: "task/e/1", Key: "reminder/1", Kind: "reminder"}); err != nil {
			t.Fatal(err)
		}
		if err := a.RecordTaskEvent(ctx, humantask.TaskEventInput{TaskID: "task/e/1", Key: "escalated/1", Kind: "escalated"}); err != nil {
			t.Fatal(err)
		}
		if err := a.CompleteTask(ctx, humantask.CompleteTaskInput{TaskID: "task/e/1", Action: "done", By: "mia", At: time.Now(), Note: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	var rows []struct {
		Actor   string `db:"actor"`
		Action  string `db:"action"`
		Control string `db:"control_id"`
		Key     string `db:"idempotency_key"`
	}
	if err := db.App.Select(&rows, `SELECT actor, action, control_id, idempotency_key FROM audit_log WHERE subject = 'task/e/1' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	want := []string{"complyflow task.created CC6.2 task/task/e/1/created#CC6.2", "complyflow task.reminder CC6.2 task/task/e/1/reminder/1#CC6.2",
		"complyflow task.escalated CC6.2 task/task/e/1/escalated/1#CC6.2", "mia task.completed CC6.2 task/task/e/1/completed#CC6.2"}
	if len(rows) != len(want) {
		t.Fatalf("audit rows %+v, want %v", rows, want)
	}
	for i, r := range rows {
		if got := r.Actor + " " + r.Action + " " + r.Control + " " + r.Key; got != want[i] {
			t.Errorf("audit row %d: %q, want %q", i, got, want[i])
		}
	}

	db.Owner.MustExec(`INSERT INTO tasks (id, assignee_id, subject, actions, due_at) VALUES ('task/e/2', 'ann', 'x', '{done}', now())`)
	if err := a.CancelTask(ctx, humantask.TaskClosedInput{TaskID: "task/e/2"}); err != nil {
		t.Fatal(err)
	}
	var n int
	db.App.Get(&n, `SELECT count(*) FROM audit_log WHERE subject = 'task/e/2' AND action = 'task.cancelled' AND control_id = ''`)
	if n != 1 {
		t.Errorf("%d audit rows for the cancellation, want 1", n)
	}
}

func closedError(t *testing.T, err error, want string) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != humantask.TaskClosedType || !ae.NonRetryable() || !strings.Contains(ae.Message(), want) {
		t.Fatalf("error %v, want a non-retryable %s error saying %q", err, humantask.TaskClosedType, want)
	}
}

// Only a retry of the completion that closed a task succeeds; any other
// completion of a closed task is refused, naming what Postgres holds.
func TestCompleteTaskRefusesAClosedTask(t *testing.T) {
	db, a := evidenceTask(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	first := humantask.CompleteTaskInput{TaskID: "task/e/1", Action: "done", By: "mia", At: at, Note: "ok"}
	if err := a.CompleteTask(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := a.CompleteTask(ctx, first); err != nil {
		t.Fatalf("the same completion retried: %v", err)
	}
	other := first
	other.By, other.At = "sam", at.Add(time.Minute)
	closedError(t, a.CompleteTask(ctx, other), "task task/e/1 was already completed: done by mia at 2026-12-01T10:00:00Z")
	declined := first
	declined.Action = "decline"
	closedError(t, a.CompleteTask(ctx, declined), "already completed: done by mia")
	task, _, _ := humantask.LoadTask(ctx, db.App, "task/e/1")
	if task.OutcomeBy.String != "mia" || task.OutcomeAction != "done" {
		t.Errorf("task %+v, want mia's completion kept", task)
	}

	db.Owner.MustExec(`INSERT INTO tasks (id, assignee_id, subject, actions, due_at) VALUES ('task/e/2', 'ann', 'x', '{done}', now())`)
	if err := a.CancelTask(ctx, humantask.TaskClosedInput{TaskID: "task/e/2"}); err != nil {
		t.Fatal(err)
	}
	closedError(t, a.CompleteTask(ctx, humantask.CompleteTaskInput{TaskID: "task/e/2", Action: "done", By: "ann", At: at}),
		"task task/e/2 was cancelled")
	var n int
	db.App.Get(&n, `SELECT count(*) FROM task_events WHERE task_id = 'task/e/2' AND kind = 'completed'`)
	if n != 0 {
		t.Errorf("a cancelled task got a completed event")
	}
}

// The application appends task evidence and closes tasks, and nothing else.
func TestTaskEvidenceIsAppendOnly(t *testing.T) {
	db, a := evidenceTask(t)
	ctx := context.Background()
	if err := a.CompleteTask(ctx, humantask.CompleteTaskInput{TaskID: "task/e/1", Action: "done", By: "mia", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	db.App.MustExec(`INSERT INTO notifications (idempotency_key, channel, purpose, status) VALUES ('k', 'email', 'assigned', 'sent')`)
	for _, stmt := range []string{
		`UPDATE task_events SET actor_id = 'sam'`,
		`DELETE FROM task_events`,
		`UPDATE notifications SET status = 'failed'`,
		`DELETE FROM notifications`,
		`DELETE FROM tasks`,
		`UPDATE tasks SET subject = 'other'`,
		`TRUNCATE notifications`,
	} {
		if _, err := db.App.Exec(stmt); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the application role: %v, want permission denied", stmt, err)
		}
	}
	for stmt, want := range map[string]string{
		`UPDATE tasks SET status = 'open', outcome_action = '', outcome_by = NULL, completed_at = NULL`: "task task/e/1: it is completed and cannot change",
		`UPDATE tasks SET outcome_by = 'sam'`: "task task/e/1: it is completed and cannot change",
	} {
		if _, err := db.App.Exec(stmt); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s as the application role: %v, want %q", stmt, err, want)
		}
	}
	// The owner is bound by the transitions and the retention too.
	db.Owner.MustExec(`INSERT INTO tasks (id, assignee_id, subject, actions, due_at) VALUES ('task/e/2', 'ann', 'x', '{done}', now())`)
	for stmt, want := range map[string]string{
		`UPDATE tasks SET status = 'cancelled' WHERE id = 'task/e/1'`:                     "it is completed and cannot change",
		`UPDATE tasks SET subject = 'y' WHERE id = 'task/e/2'`:                            "only its status and outcome may change",
		`UPDATE tasks SET outcome_by = 'sam' WHERE id = 'task/e/2'`:                       "an open task changes only by being completed or cancelled",
		`UPDATE tasks SET status = 'completed' WHERE id = 'task/e/2'`:                     "a completion names its action, who completed it and when",
		`UPDATE tasks SET status = 'cancelled', outcome_note = 'x' WHERE id = 'task/e/2'`: "a cancelled task has no outcome",
		`DELETE FROM task_events WHERE task_id = 'task/e/1'`:                              "evidence is retained for 7 years, until",
		`DELETE FROM notifications`:                                                       "notification k: evidence is retained for 7 years",
		`DELETE FROM tasks WHERE id = 'task/e/2'`:                                         "evidence is retained for 7 years after the task closes, and it is open",
		`DELETE FROM audit_log`:                                                           "evidence is retained for 7 years",
		`TRUNCATE audit_log`:                                                              "audit_log: evidence is retained for 7 years",
		`TRUNCATE notifications`:                                                          "notifications: evidence is retained for 7 years",
	} {
		if _, err := db.Owner.Exec(stmt); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s as the owner: %v, want %q", stmt, err, want)
		}
	}
	// Seven years on, a closed task and its events may go.
	db.Owner.MustExec(`ALTER TABLE tasks DISABLE TRIGGER tasks_before_update;
		UPDATE tasks SET created_at = now() - interval '8 years', completed_at = now() - interval '8 years' WHERE id = 'task/e/1';
		ALTER TABLE tasks ENABLE TRIGGER tasks_before_update;
		UPDATE task_events SET created_at = now() - interval '8 years' WHERE task_id = 'task/e/1'`)
	if _, err := db.Owner.Exec(`DELETE FROM task_events WHERE task_id = 'task/e/1'; DELETE FROM tasks WHERE id = 'task/e/1'`); err != nil {
		t.Errorf("deleting a task closed 8 years ago: %v", err)
	}
}
