package schema_test

import (
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
)

// The application role cannot create temporary objects, which could shadow
// the tables a trigger reads.
func TestAppRoleCannotCreateTemporaryObjects(t *testing.T) {
	db := testenv.Postgres(t)
	for _, q := range []string{
		`CREATE TEMP TABLE audit_log (id bigint)`,
		`CREATE TEMP SEQUENCE audit_log_id_seq`,
		`CREATE TEMP VIEW policy_versions AS SELECT 1`,
	} {
		if _, err := db.App.Exec(q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("app role: %s: %v, want permission denied", q, err)
		}
	}
}

// Every function in schema public fixes its search_path (pg_temp last), so
// no object a session creates can stand in for one the function names. A new
// function without it fails here.
func TestEveryFunctionFixesSearchPath(t *testing.T) {
	db := testenv.Postgres(t)
	var bad []string
	if err := db.Owner.Select(&bad, `
		SELECT p.oid::regprocedure::text FROM pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace
		  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
		                  WHERE c LIKE 'search\_path=%' AND c LIKE '%pg\_temp' AND c LIKE 'search\_path=pg\_catalog,%')
		ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("functions without SET search_path = pg_catalog, public, pg_temp: %s", strings.Join(bad, ", "))
	}
	var n int
	db.Owner.Get(&n, `SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace`)
	if n < 8 {
		t.Errorf("only %d functions in public: the query finds nothing to check", n)
	}
}
