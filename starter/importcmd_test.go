package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
)

// starterIn runs the CLI against the test's database and returns exit code, stdout, stderr.
func starterIn(t *testing.T, db *testenv.DB, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("DATABASE_URL", db.AppURL)
	t.Setenv("DATABASE_OWNER_URL", db.OwnerURL)
	var out, errOut bytes.Buffer
	code := runMain(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestImportCommandBadRowsExitNonZeroAndChangeNothing(t *testing.T) {
	db := testenv.Postgres(t)
	if code, out, errOut := starterIn(t, db, "import", "people", "../demo/people.csv"); code != 0 || !strings.Contains(out, "inserted") {
		t.Fatalf("demo import: code %d, out %q, err %q", code, out, errOut)
	}
	var before int
	db.App.Get(&before, `SELECT count(*) FROM people`)

	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("id,email,name,manager_id,slack_user_id,department,title,start_date,end_date\n"+
		"p-a,nope,A,p-ceo,,,,,\n"+
		"p-b,b@example.com,B,p-ghost,,,,,\n"+
		"p-good,good@example.com,Good,p-ceo,,,,,\n"+
		"p-c,c@example.com,C,p-ceo,,,,01/02/2026,\n"), 0o600)
	code, out, errOut := starterIn(t, db, "import", "people", bad)
	if code == 0 {
		t.Fatalf("exit 0 for a file with bad rows; out %q", out)
	}
	for _, line := range []string{bad + ":2: email", bad + ":3: manager_id", bad + ":5: start_date"} {
		if !strings.Contains(errOut, line) {
			t.Errorf("stderr lacks %q:\n%s", line, errOut)
		}
	}
	var after int
	db.App.Get(&after, `SELECT count(*) FROM people`)
	if after != before {
		t.Fatalf("people %d -> %d after a rejected import", before, after)
	}
}

func TestStarterRejectsUnknownCommandAndKind(t *testing.T) {
	db := testenv.Postgres(t)
	if code, _, errOut := starterIn(t, db, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: code %d, %q", code, errOut)
	}
	if code, _, errOut := starterIn(t, db, "import", "spaceships", "x.csv"); code != 2 || !strings.Contains(errOut, `unknown kind "spaceships"`) {
		t.Fatalf("unknown kind: code %d, %q", code, errOut)
	}
}
