package schema_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/schema"
)

func TestMigrateTwiceAppliesOnce(t *testing.T) {
	db := testenv.EmptyPostgres(t)
	ctx := context.Background()
	all, err := schema.All()
	if err != nil || len(all) == 0 {
		t.Fatalf("embedded migrations: %d, %v", len(all), err)
	}
	first, err := schema.Migrate(ctx, db.Owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(all) {
		t.Fatalf("first run applied %v, want all %d", first, len(all))
	}
	second, err := schema.Migrate(ctx, db.Owner)
	if err != nil || len(second) != 0 {
		t.Fatalf("second run applied %v (err %v), want nothing", second, err)
	}
	if v, _ := schema.Current(ctx, db.App); v != schema.Latest() {
		t.Fatalf("current %q, want %q", v, schema.Latest())
	}
}

func TestMigrateConcurrentlyAppliesEachOnce(t *testing.T) {
	db := testenv.EmptyPostgres(t)
	var wg sync.WaitGroup
	results := make([][]string, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = schema.Migrate(context.Background(), db.Owner)
		}()
	}
	wg.Wait()
	applied := map[string]int{}
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		for _, v := range results[i] {
			applied[v]++
		}
	}
	all, _ := schema.All()
	for _, m := range all {
		if applied[m.Version] != 1 {
			t.Errorf("%s applied %d times, want once", m.Version, applied[m.Version])
		}
	}
	var rows int
	db.Owner.Get(&rows, `SELECT count(*) FROM schema_migrations`)
	if rows != len(all) {
		t.Fatalf("schema_migrations rows %d, want %d", rows, len(all))
	}
}

func TestFailedMigrationLeavesNothingHalfApplied(t *testing.T) {
	db := testenv.EmptyPostgres(t)
	ctx := context.Background()
	// A table the first migration creates, made beforehand, makes it fail midway.
	if _, err := db.Owner.Exec(`CREATE TABLE vendors (id text)`); err != nil {
		t.Fatal(err)
	}
	_, err := schema.Migrate(ctx, db.Owner)
	if err == nil || !strings.Contains(err.Error(), "0001_directory") {
		t.Fatalf("error %v, want one naming 0001_directory", err)
	}
	var people int
	db.Owner.Get(&people, `SELECT count(*) FROM pg_tables WHERE tablename = 'people'`)
	if people != 0 {
		t.Fatal("people table exists: the failed migration was not rolled back")
	}
}

func TestApplicationRoleCannotRewriteAuditLog(t *testing.T) {
	db := testenv.Postgres(t)
	if _, err := db.App.Exec(`INSERT INTO audit_log (actor, action) VALUES ('test', 'test.append')`); err != nil {
		t.Fatalf("app role insert: %v", err)
	}
	for _, stmt := range []string{
		`UPDATE audit_log SET actor = 'mallory'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		_, err := db.App.Exec(stmt)
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the application role: %v, want permission denied", stmt, err)
		}
	}
	var actor string
	db.App.Get(&actor, `SELECT actor FROM audit_log`)
	if actor != "test" {
		t.Fatalf("audit_log actor %q after refused rewrites", actor)
	}
}

// An applied migration whose file has since changed stops the migrator with
// its name.
func TestMigrateRefusesAnEditedMigration(t *testing.T) {
	db := testenv.EmptyPostgres(t)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, db.Owner); err != nil {
		t.Fatal(err)
	}
	all, _ := schema.All()
	db.Owner.MustExec(`UPDATE schema_migrations SET sha256 = 'e0e0e0e0e0e0e0e0' WHERE version = $1`, all[0].Version)
	db.Owner.MustExec(`DELETE FROM schema_migrations WHERE version = $1`, all[len(all)-1].Version)
	applied, err := schema.Migrate(ctx, db.Owner)
	if err == nil || !strings.Contains(err.Error(), "migration "+all[0].Version+".sql was changed after this database applied it") {
		t.Fatalf("error %v, want the edited migration named", err)
	}
	if len(applied) != 0 {
		t.Fatalf("applied %v after finding an edited migration", applied)
	}
}

// The embedded migrations are numbered 1, 2, 3, ...; a repeated or skipped
// number is refused with the files it concerns.
func TestMigrationNumbering(t *testing.T) {
	if _, err := schema.All(); err != nil {
		t.Fatalf("the embedded migrations: %v", err)
	}
	for names, want := range map[string]string{
		"0001_a.sql 0002_b.sql 0002_c.sql": "0002_b.sql and 0002_c.sql share the number 0002",
		"0001_a.sql 0003_c.sql":            "expected number 0002 next",
		"0001_a.sql 02_b.sql":              "name it NNNN_concern.sql",
		"0001_a.sql 0002.sql":              "name it NNNN_concern.sql",
	} {
		err := schema.CheckNumbering(strings.Fields(names))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", names, err, want)
		}
	}
	if err := schema.CheckNumbering([]string{"0001_a.sql", "0002_b.sql"}); err != nil {
		t.Errorf("a good sequence: %v", err)
	}
}

// A database migrated by a build from before the baseline (it applied a
// version this build does not have) is refused, to be recreated, before
// anything is applied to it.
func TestMigrateRefusesAPreBaselineDatabase(t *testing.T) {
	db := testenv.EmptyPostgres(t)
	ctx := context.Background()
	db.Owner.MustExec(`CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), sha256 text NOT NULL);
		INSERT INTO schema_migrations (version, sha256) VALUES ('0004_policy_lifecycle', 'x')`)
	applied, err := schema.Migrate(ctx, db.Owner)
	if err == nil || !strings.Contains(err.Error(), "0004_policy_lifecycle") || !strings.Contains(err.Error(), "recreate it") {
		t.Fatalf("error %v, want the unknown version named and the database to be recreated", err)
	}
	var tables int
	db.Owner.Get(&tables, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`)
	if len(applied) != 0 || tables != 0 {
		t.Fatalf("applied %v, %d tables made, on a database that was refused", applied, tables)
	}
}
