package audit_test

import (
	"context"
	"testing"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/testenv"
)

// WriteBatch keeps Write's rows (one per control, keyed Key#control, none
// for an entry without a key) in the entries' order, writes nothing twice
// under a key, and leaves a chain that verifies.
func TestWriteBatchRowsOrderAndIdempotency(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	entries := []audit.Entry{
		{Actor: "ann", Action: "policy.acknowledged", Subject: "c1", Controls: []string{"pa", "sat"}, Key: "signature/c1/ann", Detail: map[string]string{"seal": "x"}},
		{Actor: "bob", Action: "policy.acknowledged", Subject: "c1", Key: "signature/c1/bob"},
		{Actor: "cli:sam", Action: "note"},
	}
	if err := audit.WriteBatch(ctx, db.App, entries); err != nil {
		t.Fatal(err)
	}
	// The same batch again adds only the entry without a key.
	if err := audit.WriteBatch(ctx, db.App, entries); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Actor   string  `db:"actor"`
		Control string  `db:"control_id"`
		Key     *string `db:"idempotency_key"`
		Seal    string  `db:"seal"`
	}
	if err := db.App.Select(&rows, `SELECT actor, control_id, idempotency_key, coalesce(detail->>'seal', '') AS seal FROM audit_log ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	key := func(k *string) string {
		if k == nil {
			return "NULL"
		}
		return *k
	}
	want := []string{"ann pa signature/c1/ann#pa x", "ann sat signature/c1/ann#sat x", "bob  signature/c1/bob ", "cli:sam  NULL ", "cli:sam  NULL "}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, r := range rows {
		if got := r.Actor + " " + r.Control + " " + key(r.Key) + " " + r.Seal; got != want[i] {
			t.Errorf("row %d: %q, want %q", i+1, got, want[i])
		}
	}
	if res, err := audit.Verify(ctx, db.App, audit.Options{}); err != nil || res.Rows != 5 {
		t.Fatalf("chain after batches: %d rows, %v", res.Rows, err)
	}
}
