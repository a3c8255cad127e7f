package audit_test

import (
	"context"
	"errors"
	"testing"

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
	n, err := audit.Verify(ctx, db.App)
	if err != nil || n != 3 {
		t.Fatalf("intact log: %d rows, %v", n, err)
	}

	// Someone with the owner's rights edits a row: the chain shows it.
	if _, err := db.Owner.Exec(`UPDATE audit_log SET actor = 'mallory' WHERE action = 'two'`); err != nil {
		t.Fatal(err)
	}
	var brk *audit.Break
	if _, err := audit.Verify(ctx, db.App); !errors.As(err, &brk) || brk.ID != 2 {
		t.Fatalf("after edit: %v, want a break at row 2", err)
	}
	db.Owner.Exec(`UPDATE audit_log SET actor = 'tester' WHERE action = 'two'`)
	if _, err := audit.Verify(ctx, db.App); err != nil {
		t.Fatalf("after restoring the row: %v", err)
	}

	if _, err := db.Owner.Exec(`DELETE FROM audit_log WHERE action = 'two'`); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(ctx, db.App); !errors.As(err, &brk) || brk.ID != 3 {
		t.Fatalf("after removal: %v, want a break at row 3", err)
	}
}
