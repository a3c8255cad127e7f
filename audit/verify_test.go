package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestVerifyDetectsEditAndRemoval(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	for _, a := range []string{"one", "two", "three"} {
		if _, err := db.App.Exec(`INSERT INTO audit_log (actor, action, detail) VALUES ('tester', $1, '{"n": 1}')`, a); err != nil {
			t.Fatal(err)
		}
	}
	res, err := audit.Verify(ctx, db.App, audit.Options{})
	if err != nil || res.Rows != 3 {
		t.Fatalf("intact log: %d rows, %v", res.Rows, err)
	}

	// Someone with the owner's rights edits a row: the chain shows it.
	if _, err := db.Owner.Exec(`UPDATE audit_log SET actor = 'mallory' WHERE action = 'two'`); err != nil {
		t.Fatal(err)
	}
	var brk *audit.Break
	if _, err := audit.Verify(ctx, db.App, audit.Options{}); !errors.As(err, &brk) || brk.ID != 2 {
		t.Fatalf("after edit: %v, want a break at row 2", err)
	}
	db.Owner.Exec(`UPDATE audit_log SET actor = 'tester' WHERE action = 'two'`)
	if _, err := audit.Verify(ctx, db.App, audit.Options{}); err != nil {
		t.Fatalf("after restoring the row: %v", err)
	}

	// The retention trigger refuses the delete; the table's owner can drop it
	// out of the way, which the chain still shows.
	if _, err := db.Owner.Exec(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_before_delete;
		DELETE FROM audit_log WHERE action = 'two'`); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(ctx, db.App, audit.Options{}); !errors.As(err, &brk) || brk.ID != 3 {
		t.Fatalf("after removal: %v, want a break at row 3", err)
	}
}

// Two transactions appending at once: the second waits for the first's chain
// lock, and the log must still verify in id order.
func TestVerifyAfterConcurrentAppends(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	first, err := db.App.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	insert := `INSERT INTO audit_log (actor, action) VALUES ('tester', $1)`
	if _, err := first.Exec(insert, "a1"); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := db.App.Exec(insert, "b1") // blocks on the chain lock until first commits
		second <- err
	}()
	// Give the second insert time to draw its id (before the fix) and block.
	time.Sleep(300 * time.Millisecond)
	if _, err := first.Exec(insert, "a2"); err != nil {
		t.Fatal(err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if res, err := audit.Verify(ctx, db.App, audit.Options{}); err != nil || res.Rows != 3 {
		t.Fatalf("after concurrent appends: %d rows, %v", res.Rows, err)
	}
}
