package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/testenv"
)

// fiveRows appends five entries through audit.Write, one with an idempotency key.
func fiveRows(t *testing.T, db *testenv.DB) {
	t.Helper()
	for i, a := range []string{"one", "two", "three", "four", "five"} {
		e := audit.Entry{Actor: "tester", Action: a, Subject: "s-é", Detail: map[string]any{"n": i, "text": "ünï\x1fcode"}}
		if i == 2 {
			e.Key = "k-three"
		}
		if err := audit.Write(context.Background(), db.App, e); err != nil {
			t.Fatal(err)
		}
	}
}

func newKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rechain recomputes every row's link and hash, as the table owner could:
// the chain alone then verifies.
const rechain = `DO $$
DECLARE r record; prev bytea := '\x'; h bytea;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        h := audit_log_hash_v2(prev, r.id, r.at, r.actor, r.action, r.subject, r.control_id, r.detail, r.idempotency_key);
        UPDATE audit_log SET prev_hash = prev, hash = h WHERE id = r.id;
        prev := h;
    END LOOP;
END $$`

func wantBreak(t *testing.T, err error, id int64, reason string) {
	t.Helper()
	var brk *audit.Break
	if !errors.As(err, &brk) || brk.ID != id || !strings.Contains(brk.Reason, reason) {
		t.Fatalf("got %v, want a break at row %d (%q)", err, id, reason)
	}
}

// The database stamps `at` itself: a writer cannot date an entry.
func TestTriggerIgnoresTheWritersAt(t *testing.T) {
	db := testenv.Postgres(t)
	if _, err := db.App.Exec(`INSERT INTO audit_log (actor, action, at) VALUES ('tester', 'backdated', '2019-01-01')`); err != nil {
		t.Fatal(err)
	}
	var at time.Time
	db.App.Get(&at, `SELECT at FROM audit_log WHERE action = 'backdated'`)
	if time.Since(at) > time.Minute || time.Since(at) < -time.Minute {
		t.Fatalf("at = %v, want now: the writer's value must be ignored", at)
	}
}

// The hash covers id and idempotency_key as well as the rest.
func TestHashCoversIDAndIdempotencyKey(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	fiveRows(t, db)
	if res, err := audit.Verify(ctx, db.App, audit.Options{}); err != nil || res.Rows != 5 {
		t.Fatalf("intact log: %+v, %v", res, err)
	}
	db.Owner.MustExec(`UPDATE audit_log SET idempotency_key = 'other' WHERE id = 3`)
	_, err := audit.Verify(ctx, db.App, audit.Options{})
	wantBreak(t, err, 3, "edited")
	db.Owner.MustExec(`UPDATE audit_log SET idempotency_key = 'k-three' WHERE id = 3`)
	db.Owner.MustExec(`UPDATE audit_log SET id = 50 WHERE id = 5`)
	_, err = audit.Verify(ctx, db.App, audit.Options{})
	wantBreak(t, err, 50, "edited")
}

func TestCheckpointDetectsTruncatedTail(t *testing.T) {
	for _, tc := range []struct{ name, del string }{
		{"last rows", `ALTER TABLE audit_log DISABLE TRIGGER audit_log_before_delete; DELETE FROM audit_log WHERE id >= 4`},
		{"every row", `ALTER TABLE audit_log DISABLE TRIGGER audit_log_before_delete; DELETE FROM audit_log`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := testenv.Postgres(t)
			ctx := context.Background()
			key := newKey(t)
			fiveRows(t, db)
			file := filepath.Join(t.TempDir(), "checkpoints.jsonl")
			c, err := audit.WriteCheckpoint(ctx, db.App, key, file)
			if err != nil || c.LastID != 5 || c.Count != 5 {
				t.Fatalf("checkpoint %+v, %v", c, err)
			}
			pub := key.Public().(ed25519.PublicKey)
			if _, err := audit.Verify(ctx, db.App, audit.Options{PublicKey: pub}); err != nil {
				t.Fatalf("intact log against its checkpoint: %v", err)
			}
			db.Owner.MustExec(tc.del)
			if _, err := audit.Verify(ctx, db.App, audit.Options{}); err != nil {
				t.Fatalf("the chain alone should still verify (that is the gap checkpoints fill): %v", err)
			}
			_, err = audit.Verify(ctx, db.App, audit.Options{PublicKey: pub})
			wantBreak(t, err, 5, "is missing")

			// The owner also empties audit_checkpoints: the file still tells.
			db.Owner.MustExec(`DELETE FROM audit_checkpoints`)
			fromFile, err := audit.ReadCheckpointFile(file)
			if err != nil || len(fromFile) != 1 {
				t.Fatalf("checkpoint file: %d, %v", len(fromFile), err)
			}
			_, err = audit.Verify(ctx, db.App, audit.Options{PublicKey: pub, Checkpoints: fromFile})
			wantBreak(t, err, 5, "is missing")
			// And no new checkpoint is signed over the truncated log.
			if _, err := audit.WriteCheckpoint(ctx, db.App, key, file); err == nil {
				t.Fatal("signed a checkpoint over a truncated log")
			}
		})
	}
}

func TestCheckpointDetectsRechainedLog(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	key := newKey(t)
	fiveRows(t, db)
	if _, err := audit.WriteCheckpoint(ctx, db.App, key, ""); err != nil {
		t.Fatal(err)
	}
	db.Owner.MustExec(`UPDATE audit_log SET actor = 'mallory' WHERE id = 2`)
	db.Owner.MustExec(rechain)
	if _, err := audit.Verify(ctx, db.App, audit.Options{}); err != nil {
		t.Fatalf("a re-chained log verifies as a chain: %v", err)
	}
	_, err := audit.Verify(ctx, db.App, audit.Options{PublicKey: key.Public().(ed25519.PublicKey)})
	wantBreak(t, err, 5, "rewritten")
}

func TestVerifyDetectsForgedAt(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	fiveRows(t, db)
	// The owner backdates row 3 and recomputes the chain.
	db.Owner.MustExec(`UPDATE audit_log SET at = '2019-06-01' WHERE id = 3`)
	db.Owner.MustExec(rechain)
	_, err := audit.Verify(ctx, db.App, audit.Options{})
	wantBreak(t, err, 3, "forged at")

	// Dated after the checkpoint that covers it.
	db2 := testenv.Postgres(t)
	key := newKey(t)
	fiveRows(t, db2)
	if _, err := audit.WriteCheckpoint(ctx, db2.App, key, ""); err != nil {
		t.Fatal(err)
	}
	db2.Owner.MustExec(`UPDATE audit_log SET at = clock_timestamp() + interval '30 seconds' WHERE id = 5`)
	db2.Owner.MustExec(rechain)
	_, err = audit.Verify(ctx, db2.App, audit.Options{PublicKey: key.Public().(ed25519.PublicKey)})
	wantBreak(t, err, 5, "forged at")
}

func TestCheckpointsAreSignedAndAppendOnly(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	key := newKey(t)
	fiveRows(t, db)
	if _, err := audit.WriteCheckpoint(ctx, db.App, key, ""); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_checkpoints SET row_count = 3`, `DELETE FROM audit_checkpoints`} {
		if _, err := db.App.Exec(q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("app role: %s: %v, want permission denied", q, err)
		}
	}
	// A checkpoint the owner alters no longer verifies with the public key.
	db.Owner.MustExec(`UPDATE audit_checkpoints SET row_count = 3, last_id = 3, last_hash = (SELECT hash FROM audit_log WHERE id = 3)`)
	_, err := audit.Verify(ctx, db.App, audit.Options{PublicKey: key.Public().(ed25519.PublicKey)})
	if err == nil || !strings.Contains(err.Error(), "does not verify with the public key") {
		t.Fatalf("altered checkpoint: %v", err)
	}
	// Another key does not verify it either.
	db.Owner.MustExec(`DELETE FROM audit_checkpoints`)
	if _, err := audit.WriteCheckpoint(ctx, db.App, key, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(ctx, db.App, audit.Options{PublicKey: newKey(t).Public().(ed25519.PublicKey)}); err == nil {
		t.Fatal("a checkpoint verified with the wrong public key")
	}
}
