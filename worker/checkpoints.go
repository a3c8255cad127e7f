package main

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/audit"
)

// checkpointEvery is how often the worker signs an audit checkpoint.
const checkpointEvery = 24 * time.Hour

// signCheckpoints signs an audit checkpoint now and then every interval
// until ctx ends, as `starter audit checkpoint` does; a failure (a log that
// does not verify, the database away) is logged and tried again next time.
func signCheckpoints(ctx context.Context, db *sqlx.DB, key ed25519.PrivateKey, file string, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c, err := audit.WriteCheckpoint(ctx, db, key, file)
		if err != nil {
			log.Error("audit checkpoint failed", "err", err)
		} else {
			log.Info("audit checkpoint signed", "last_id", c.LastID, "rows", c.Count)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
