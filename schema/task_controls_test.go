package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/schema"
)

// 0009 moves each existing task's one control into control_ids, open and
// closed tasks alike, and the tasks' columns still never change afterwards.
func TestTaskControlsMigrationKeepsEachTasksControl(t *testing.T) {
	db := testenv.EmptyPostgres(t)
	ctx := context.Background()
	all, err := schema.All()
	if err != nil {
		t.Fatal(err)
	}
	run := func(m schema.Migration) {
		t.Helper()
		if _, err := db.Owner.ExecContext(ctx, "BEGIN;\n"+m.SQL+"\nCOMMIT;"); err != nil {
			t.Fatalf("%s: %v", m.Version, err)
		}
	}
	var controls schema.Migration
	for _, m := range all {
		if m.Version == "0009_task_controls" {
			controls = m
			break
		}
		run(m)
	}
	if controls.Version == "" {
		t.Fatal("no 0009_task_controls migration")
	}
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('ann', 'Ann'), ('sam', 'Sam');
		INSERT INTO tasks (id, assignee_id, subject, actions, control_id, due_at) VALUES
			('open', 'ann', 'x', '{done}', 'CC1.4', now()), ('done', 'ann', 'y', '{done}', 'CC6.2', now()),
			('none', 'ann', 'z', '{done}', '', now());
		UPDATE tasks SET status = 'completed', outcome_action = 'done', outcome_by = 'sam', completed_at = now() WHERE id = 'done'`)
	run(controls)

	var got []string
	if err := db.Owner.Select(&got, `SELECT id || ' ' || array_to_string(control_ids, ',') FROM tasks ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if want := "done CC6.2|none |open CC1.4"; strings.Join(got, "|") != want {
		t.Errorf("tasks after 0009: %q, want %q", strings.Join(got, "|"), want)
	}
	var n int
	db.Owner.Get(&n, `SELECT count(*) FROM tasks WHERE 'CC1.4' = ANY(control_ids)`)
	if n != 1 {
		t.Errorf("%d tasks found under CC1.4, want 1", n)
	}
	for stmt, want := range map[string]string{
		`UPDATE tasks SET control_ids = '{CC1.4,CC6.2}' WHERE id = 'open'`:                                                                 "only its status and outcome may change",
		`UPDATE tasks SET control_ids = '{}' WHERE id = 'done'`:                                                                            "it is completed and cannot change",
		`UPDATE tasks SET status = 'cancelled', control_ids = '{CC9}' WHERE id = 'none'`:                                                   "only its status and outcome may change",
		`INSERT INTO tasks (id, assignee_id, subject, actions, control_ids, due_at) VALUES ('blank', 'ann', 'x', '{done}', '{""}', now())`: "check constraint",
	} {
		if _, err := db.Owner.Exec(stmt); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", stmt, err, want)
		}
	}
	if _, err := db.App.Exec(`UPDATE tasks SET control_ids = '{}' WHERE id = 'open'`); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the application changed a task's controls: %v", err)
	}
}
