package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/testenv"
)

// The worker signs a checkpoint at start and then every interval, into the
// table and the file, until it stops.
func TestWorkerSignsCheckpointsOnATicker(t *testing.T) {
	db := testenv.Postgres(t)
	db.App.MustExec(`INSERT INTO audit_log (actor, action) VALUES ('tester', 'one')`)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	file := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		signCheckpoints(ctx, db.App, key, file, 100*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	var n int
	for n < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		db.App.Get(&n, `SELECT count(*) FROM audit_checkpoints`)
	}
	cancel()
	<-done
	if n < 2 {
		t.Fatalf("%d checkpoints, want one at start and more on the ticker", n)
	}
	fromFile, err := audit.ReadCheckpointFile(file)
	if err != nil || len(fromFile) < 2 {
		t.Fatalf("file: %d checkpoints, %v", len(fromFile), err)
	}
	if _, err := audit.Verify(context.Background(), db.App, audit.Options{PublicKey: key.Public().(ed25519.PublicKey), Checkpoints: fromFile}); err != nil {
		t.Fatal(err)
	}
}
