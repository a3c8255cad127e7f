// Package schema holds complyflow's Postgres migrations, embedded, and applies
// each one once, in order.
package schema

import (
	"context"
	"embed"
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
}

// All returns the embedded migrations in the order they apply.
func All() ([]Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: strings.TrimSuffix(n, ".sql"), SQL: string(b)})
	}
	return out, nil
}

// Latest is the version of the newest embedded migration.
func Latest() string {
	all, err := All()
	if err != nil || len(all) == 0 {
		return ""
	}
	return all[len(all)-1].Version
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
		version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var done []string
	if err := conn.SelectContext(ctx, &done, `SELECT version FROM schema_migrations`); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(done))
	for _, v := range done {
		seen[v] = true
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

func apply(ctx context.Context, conn *sqlx.Conn, m Migration) error {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Version, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version); err != nil {
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
