// Package platform opens the connections every complyflow process needs:
// Postgres, Temporal, and the structured logger both share.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the Postgres driver
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
)

// Version is the build version, set with -ldflags "-X ...platform.Version=...".
var Version = "dev"

// Logger is the process's structured logger, handed to the Temporal SDK too.
func Logger() *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// OpenDB connects to Postgres and checks the connection within a few seconds,
// so a wrong DATABASE_URL fails at start-up with a message that names it.
func OpenDB(ctx context.Context, rawURL string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", rawURL)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redact(rawURL), err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s not reachable: %w", redact(rawURL), err)
	}
	// Keep what is opened: with database/sql's default of 2 idle
	// connections, a campaign's concurrent batch reads and writes would
	// close and re-open (and re-authenticate) connections all the time.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	return db, nil
}

// DialTemporal connects to the Temporal frontend. metrics may be nil.
func DialTemporal(address, namespace string, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	c, err := client.Dial(client.Options{
		HostPort:       address,
		Namespace:      namespace,
		Logger:         log.NewStructuredLogger(logger),
		MetricsHandler: metrics,
	})
	if err != nil {
		return nil, fmt.Errorf("temporal at %s: %w", address, err)
	}
	return c, nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
