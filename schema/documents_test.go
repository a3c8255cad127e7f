package schema_test

import (
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/schema"
)

// A database holding a policy version with neither its text nor a
// reference (a policy registered without a source, before 0010) is not
// migrated past it silently: 0010 refuses, naming the version.
func TestDocumentsMigrationRefusesAnEmptyVersion(t *testing.T) {
	db := testenv.EmptyPostgres(t)
	all, err := schema.All()
	if err != nil {
		t.Fatal(err)
	}
	const documents = "0010_policy_version_documents"
	var m schema.Migration
	for _, m = range all {
		if m.Version == documents {
			break
		}
		if _, err := db.Owner.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Version, err)
		}
	}
	if m.Version != documents {
		t.Fatalf("no migration %s", documents)
	}
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('sam', 'Sam');
		INSERT INTO policies (id, title, owner_id, created_at) VALUES ('access', 'Access Control Policy', 'sam', '2023-01-10')`)
	_, err = db.Owner.Exec(m.SQL)
	if err == nil || !strings.Contains(err.Error(), "policy versions without their text or a reference to it: access 2023.1") {
		t.Fatalf("migrating a database with an empty version: %v, want it refused naming access 2023.1", err)
	}
}
