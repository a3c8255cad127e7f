package drtest

import (
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// DR evidence is kept: the application cannot delete or truncate a test's
// rows, nor change a closed test or a recorded restore.
func TestDREvidenceIsKept(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('cora', 'cora@example.com', 'Cora');
		INSERT INTO systems (id, name, owner_id, removal_method, criticality) VALUES ('sys-db', 'DB', 'cora', 'manual', 'critical');
		INSERT INTO dr_tests (id, coordinator_id, plan_owner_id, status, opened_at, closed_at) VALUES ('dr-test/x', 'cora', 'cora', 'closed', now(), now());
		INSERT INTO backup_restore_tests (id, candidates, system_id, assignee_id, picked_at, recorded_at, closed_at) VALUES ('brt/x', '{sys-db}', 'sys-db', 'cora', now(), now(), now())`)
	for _, c := range []struct{ stmt, want string }{
		{`DELETE FROM dr_tests WHERE id = 'dr-test/x'`, "permission denied"},
		{`TRUNCATE backup_restore_tests`, "permission denied"},
		{`UPDATE dr_tests SET notes = 'rewritten' WHERE id = 'dr-test/x'`, "it is closed and cannot change"},
		{`UPDATE backup_restore_tests SET passed = false WHERE id = 'brt/x'`, "it is closed and cannot change"},
	} {
		if _, err := db.App.Exec(c.stmt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.stmt, err, c.want)
		}
	}
	if _, err := db.Owner.Exec(`DELETE FROM dr_tests WHERE id = 'dr-test/x'`); err == nil || !strings.Contains(err.Error(), "retained for 7 years") {
		t.Errorf("the owner deleted a DR test within 7 years: %v", err)
	}
}
