package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/schema"
)

// A log written before 0006_audit_chain is re-hashed under the new hash when
// its old chain verifies; a broken one stops the migration.
func TestAuditChainMigrationRehashesAnIntactLog(t *testing.T) {
	all, err := schema.All()
	if err != nil {
		t.Fatal(err)
	}
	var upTo5, m6 []string
	for _, m := range all {
		switch {
		case m.Version < "0006":
			upTo5 = append(upTo5, m.SQL)
		case strings.HasPrefix(m.Version, "0006_"):
			m6 = append(m6, m.SQL)
		}
	}
	for _, broken := range []bool{false, true} {
		db := testenv.EmptyPostgres(t)
		for _, q := range upTo5 {
			db.Owner.MustExec(q)
		}
		for _, a := range []string{"one", "two", "three"} {
			db.App.MustExec(`INSERT INTO audit_log (actor, action, idempotency_key) VALUES ('tester', $1, $1)`, a)
		}
		if broken {
			db.Owner.MustExec(`UPDATE audit_log SET actor = 'mallory' WHERE id = 2`)
		}
		_, err := db.Owner.Exec(m6[0])
		if broken {
			if err == nil || !strings.Contains(err.Error(), "row 2") {
				t.Fatalf("migrating a broken log: %v, want a refusal naming row 2", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		res, err := audit.Verify(context.Background(), db.App, audit.Options{})
		if err != nil || res.Rows != 3 {
			t.Fatalf("after the migration: %+v, %v", res, err)
		}
	}
}
