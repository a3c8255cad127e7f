// Package schema holds complyflow's Postgres migrations, embedded, and applies
// each one once, in order.
package schema

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"
)

//go:embed *.sql
var files embed.FS

// migrationLock is the advisory lock key that serialises concurrent migrators.
const migrationLock = 7405563240

// Migration is one numbered SQL file.
type Migration struct {
	Version string // file name without .sql, e.g. "0001_directory"
	SQL     string
	SHA256  string // of SQL: an applied migration must never change
}

// All returns the embedded migrations in the order they apply, refusing a
// set whose numbers repeat or skip one.
func All() ([]Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	if err := checkNumbering(names); err != nil {
		return nil, err
	}
	out := make([]Migration, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out = append(out, Migration{Version: strings.TrimSuffix(n, ".sql"), SQL: string(b), SHA256: hex.EncodeToString(sum[:])})
	}
	return out, nil
}

// checkNumbering makes sure the migrations are NNNN_concern.sql numbered 1,
// 2, 3, ... with no number twice and none skipped: two files with one number
// would apply in an order decided by their names, and a gap hides a lost file.
func checkNumbering(names []string) error {
	for i, n := range names {
		num, concern, ok := strings.Cut(strings.TrimSuffix(n, ".sql"), "_")
		if !ok || len(num) != 4 || concern == "" || strings.Trim(num, "0123456789") != "" {
			return fmt.Errorf("migration %s: name it NNNN_concern.sql (four digits, an underscore, what it is about)", n)
		}
		if want := fmt.Sprintf("%04d", i+1); num != want {
			if i > 0 && strings.HasPrefix(names[i-1], num+"_") {
				return fmt.Errorf("migrations %s and %s share the number %s: give the newer one the next number", names[i-1], n, num)
			}
			return fmt.Errorf("migration %s: expected number %s next (numbers go 0001, 0002, ... without gaps)", n, want)
		}
	}
	return nil
}

// Latest is the version of the newest embedded migration.
func Latest() string {
	// Names only: /healthz asks on every call, and All reads and hashes every file.
	names, _ := fs.Glob(files, "*.sql")
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return strings.TrimSuffix(names[len(names)-1], ".sql")
}

// Migrate applies every migration not yet recorded, each in its own
// transaction, and returns the versions it applied. Two processes may run it at
// once: an advisory lock makes the second wait and then find nothing to do.
func Migrate(ctx context.Context, db *sqlx.DB) ([]string, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), sha256 text NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	seen, err := checkApplied(ctx, conn, all)
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range all {
		if seen[m.Version] {
			continue
		}
		if err := apply(ctx, conn, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.Version)
	}
	// The application reads the schema version for /healthz.
	if _, err := conn.ExecContext(ctx, `GRANT SELECT ON schema_migrations TO complyflow_app`); err != nil {
		return applied, fmt.Errorf("grant schema_migrations: %w", err)
	}
	return applied, nil
}

// checkApplied returns the applied versions, after making sure none of them
// was edited since: a database that ran the old text would silently differ
// from one that runs the new. A version this build does not have, numbered
// within its own, was applied by a build from before the baseline of
// 2026-12 (the migrations were squashed then): such a database is refused,
// to be recreated, rather than migrated into a mix of both.
func checkApplied(ctx context.Context, conn *sqlx.Conn, all []Migration) (map[string]bool, error) {
	var rows []struct {
		Version string `db:"version"`
		SHA256  string `db:"sha256"`
	}
	if err := conn.SelectContext(ctx, &rows, `SELECT version, sha256 FROM schema_migrations`); err != nil {
		return nil, err
	}
	files := make(map[string]Migration, len(all))
	for _, m := range all {
		files[m.Version] = m
	}
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		seen[r.Version] = true
		m, ok := files[r.Version]
		switch {
		case !ok && r.Version <= all[len(all)-1].Version:
			return nil, fmt.Errorf("this database applied migration %s, which this build does not have: it was made by a build "+
				"from before the migrations were squashed into a baseline; recreate it (nothing was released before)", r.Version)
		case !ok:
			continue // applied by a newer build; Current reports it
		case r.SHA256 != m.SHA256:
			return nil, fmt.Errorf("migration %s.sql was changed after this database applied it (sha256 %.12s then, %.12s now): "+
				"an applied migration is never edited; put the change in a new numbered file", m.Version, r.SHA256, m.SHA256)
		}
	}
	return seen, nil
}

func apply(ctx context.Context, conn *sqlx.Conn, m Migration) error {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Version, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, sha256) VALUES ($1, $2)`, m.Version, m.SHA256); err != nil {
		return fmt.Errorf("record migration %s: %w", m.Version, err)
	}
	return tx.Commit()
}

// Current reports the newest applied migration, for /healthz.
func Current(ctx context.Context, db *sqlx.DB) (string, error) {
	var v string
	err := db.GetContext(ctx, &v, `SELECT coalesce(max(version), '') FROM schema_migrations`)
	return v, err
}
