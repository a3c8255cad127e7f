package schema_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/internal/testenv"
)

// TestPortalRoleSeesOnlyRowsItsPersonMay connects as the portal's own role
// (issue 15 item 4): an employee sees only their own tasks and signatures, a
// manager also their reports' (direct and through the managers below them), an officer every row, a request that
// sets nobody no row; and the role writes nothing, whoever it is for.
func TestPortalRoleSeesOnlyRowsItsPersonMay(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('mia', 'mia@example.com', 'Mia'), ('eve', 'eve@example.com', 'Eve'),
			('bob', 'bob@example.com', 'Bob'), ('sam', 'sam@example.com', 'Sam');
		UPDATE people SET manager_id = 'mia' WHERE id = 'eve';
		UPDATE people SET manager_id = 'eve' WHERE id = 'bob';
		INSERT INTO tasks (id, assignee_id, subject, actions, due_at) VALUES
			('t-eve', 'eve', 'Eve''s', '{done}', now()), ('t-bob', 'bob', 'Bob''s', '{done}', now()), ('t-mia', 'mia', 'Mia''s', '{done}', now());
		INSERT INTO task_events (task_id, event_key, kind) VALUES ('t-eve', 'created', 'created'), ('t-bob', 'created', 'created');`)
	ctx := context.Background()
	read := func(person, role, query string) []string {
		t.Helper()
		tx, err := db.Portal.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if person != "" {
			tx.MustExec(`SELECT set_config('complyflow.person_id', $1, true), set_config('complyflow.role', $2, true)`, person, role)
		}
		var ids []string
		if err := tx.SelectContext(ctx, &ids, query); err != nil {
			t.Fatalf("%s as %s/%s: %v", query, person, role, err)
		}
		slices.Sort(ids)
		return ids
	}
	const tasks = `SELECT id FROM tasks`
	for _, c := range []struct {
		person, role string
		want         []string
	}{
		{"eve", "employee", []string{"t-eve"}},
		{"bob", "employee", []string{"t-bob"}},
		{"mia", "manager", []string{"t-bob", "t-eve", "t-mia"}},
		{"eve", "manager", []string{"t-bob", "t-eve"}},
		{"mia", "employee", []string{"t-mia"}},
		{"sam", "officer", []string{"t-bob", "t-eve", "t-mia"}},
		{"sam", "auditor", []string{"t-bob", "t-eve", "t-mia"}},
		{"", "", nil},
	} {
		if got := read(c.person, c.role, tasks); !slices.Equal(got, c.want) {
			t.Errorf("tasks seen by %s as %s: %v, want %v", c.person, c.role, got, c.want)
		}
	}
	if got := read("eve", "employee", `SELECT task_id FROM task_events`); !slices.Equal(got, []string{"t-eve"}) {
		t.Errorf("task events seen by eve: %v, want only her task's", got)
	}
	if got := read("eve", "employee", `SELECT id::text FROM audit_log`); len(got) != 0 {
		t.Errorf("eve reads %d audit entries, want none", len(got))
	}
	// The settings last for the transaction only: a connection back in the
	// pool carries nobody's.
	if got := read("", "", `SELECT coalesce(current_setting('complyflow.person_id', true), '')`); !slices.Equal(got, []string{""}) {
		t.Errorf("a new transaction still carries person %v", got)
	}

	for _, stmt := range []string{
		`INSERT INTO tasks (id, assignee_id, subject, actions, due_at) VALUES ('t-x', 'sam', 'x', '{done}', now())`,
		`UPDATE tasks SET outcome_note = 'x' WHERE id = 't-eve'`,
		`INSERT INTO audit_log (actor, action, subject, control_id, detail) VALUES ('sam', 'x', 'x', '', '{}')`,
		`SELECT count(*) FROM accounts`,
		`SELECT count(*) FROM sessions`,
	} {
		if err := execAs(ctx, db.Portal, "sam", "auditor", stmt); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the portal role: %v, want permission denied", stmt, err)
		}
	}
}

func execAs(ctx context.Context, db *sqlx.DB, person, role, stmt string) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT set_config('complyflow.person_id', $1, true), set_config('complyflow.role', $2, true)`, person, role); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, stmt)
	return err
}
