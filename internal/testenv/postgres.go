// Package testenv gives integration tests the real servers they run against:
// a fresh Postgres database per test and a shared Temporal dev server per
// test binary. `make test` starts Postgres and builds bin/temporal first.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the Postgres driver

	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/schema"
)

// DB is a migrated test database: App connects as the application role, Owner
// as the role that owns the tables.
type DB struct {
	App   *sqlx.DB
	Owner *sqlx.DB
	// Portal connects as the portal's own role, subject to row-level security.
	Portal *sqlx.DB
	// AppURL and OwnerURL are the connection strings, for code under test that
	// opens its own connections.
	AppURL, OwnerURL string
}

// Postgres creates a database of its own for the test, applies every
// migration as the owner, and drops it when the test ends.
func Postgres(t testing.TB) *DB {
	t.Helper()
	db := EmptyPostgres(t)
	if _, err := schema.Migrate(context.Background(), db.Owner); err != nil {
		t.Fatalf("testenv: migrate: %v", err)
	}
	return db
}

// EmptyPostgres is Postgres without the migrations, for testing them.
func EmptyPostgres(t testing.TB) *DB {
	t.Helper()
	ownerURL := envOr("DATABASE_OWNER_URL", config.DefaultOwnerURL)
	appURL := envOr("DATABASE_URL", config.DefaultDatabaseURL)
	portalURL := envOr("DATABASE_PORTAL_URL", config.DefaultPortalURL)
	admin, err := sqlx.Open("postgres", ownerURL)
	if err != nil {
		t.Fatalf("testenv: open %s: %v", redact(ownerURL), err)
	}
	t.Cleanup(func() { admin.Close() })
	if err := admin.Ping(); err != nil {
		t.Fatalf("testenv: Postgres not reachable at %s (run `make test`, which starts it): %v", redact(ownerURL), err)
	}

	suffix := make([]byte, 6)
	rand.Read(suffix)
	name := "cf_test_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
		}
	})

	db := &DB{OwnerURL: withDatabase(t, ownerURL, name), AppURL: withDatabase(t, appURL, name)}
	db.Owner = sqlx.MustOpen("postgres", db.OwnerURL)
	t.Cleanup(func() { db.Owner.Close() })
	db.App = sqlx.MustOpen("postgres", db.AppURL)
	t.Cleanup(func() { db.App.Close() })
	db.Portal = sqlx.MustOpen("postgres", withDatabase(t, portalURL, name))
	t.Cleanup(func() { db.Portal.Close() })
	return db
}

func withDatabase(t testing.TB, raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("testenv: bad database URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
