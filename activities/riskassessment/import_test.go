package riskassessment

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const header = "id,title,description,category,owner_id,likelihood,impact,treatment,controls,residual_likelihood,residual_impact\n"

func seed(t *testing.T) *testenv.DB {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'), ('eve', 'eve@example.com', 'Eve');
		INSERT INTO people (id, email, name, end_date) VALUES ('lee', 'lee@example.com', 'Lee Left', '2020-01-01');
		INSERT INTO controls (id, title, processes) VALUES ('annual-risk-assessment', 'Risk Assessment', '{annual-risk-assessment}'),
			('backups', 'Backups', '{}'), ('key-management', 'Key Management', '{}')`)
	return db
}

func count(t *testing.T, db *testenv.DB, q string) int {
	t.Helper()
	var n int
	if err := db.Owner.Get(&n, q); err != nil {
		t.Fatal(err)
	}
	return n
}

// A register imports all rows, upserting by ID, audited under the
// assessment's control; a second import updates.
func TestImportRisks(t *testing.T) {
	db := seed(t)
	csv := header + `R-1,Ransomware,"Encrypts, then extorts",security,sam,3,5,mitigate,"backups, key-management",2,3
R-2,Region loss,,availability,eve,2,5,accept,,2,5
`
	res, err := Import(context.Background(), db.App, "risks.csv", strings.NewReader(csv), "cli:test")
	if err != nil || res != (ImportResult{Inserted: 2}) {
		t.Fatalf("import = %+v, %v; want 2 inserted", res, err)
	}
	if n := count(t, db, `SELECT count(*) FROM risks WHERE id = 'R-1' AND description = 'Encrypts, then extorts' AND control_ids = '{backups,key-management}'`); n != 1 {
		t.Error("R-1 was not stored as written")
	}
	res, err = Import(context.Background(), db.App, "risks.csv", strings.NewReader(strings.Replace(csv, "2,5,accept", "1,5,accept", 1)), "cli:test")
	if err != nil || res != (ImportResult{Updated: 2}) {
		t.Fatalf("second import = %+v, %v; want 2 updated", res, err)
	}
	if n := count(t, db, `SELECT count(*) FROM risks WHERE id = 'R-2' AND likelihood = 1`); n != 1 {
		t.Error("R-2 was not updated")
	}
	if n := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'risk-register.import' AND control_id = 'annual-risk-assessment'`); n != 2 {
		t.Errorf("%d import audit entries under the control, want 2", n)
	}
}

// Every bad row is reported as FILE:LINE: reason, and nothing is imported.
func TestImportRisksRejectsAllOrNothing(t *testing.T) {
	db := seed(t)
	csv := header + `R-1,Ransomware,,security,sam,3,5,mitigate,backups,2,3
R-1,Twice,,security,sam,3,5,mitigate,,2,3
R 3,,,security,lee,0,6,ignore,nope,x,3
R-4,Short,sam
`
	_, err := Import(context.Background(), db.App, "risks.csv", strings.NewReader(csv), "cli:test")
	var rowErrs directory.RowErrors
	if !errors.As(err, &rowErrs) {
		t.Fatalf("err = %v, want row errors", err)
	}
	want := []string{
		`risks.csv:3: id "R-1" appears twice (first on line 2)`,
		`risks.csv:4: id "R 3": an ID is letters, digits, '-', '_' or '.'`,
		`risks.csv:4: title is required`,
		`risks.csv:4: likelihood "0": must be a whole number from 1 to 5`,
		`risks.csv:4: impact "6": must be a whole number from 1 to 5`,
		`risks.csv:4: residual_likelihood "x": must be a whole number from 1 to 5`,
		`risks.csv:4: treatment "ignore": must be one of mitigate, accept, transfer, avoid`,
		`risks.csv:4: owner_id "lee" is not an active person in the directory (starter import people)`,
		`risks.csv:4: control "nope" is not a control of the program file (starter program apply)`,
		`risks.csv:5: 3 fields, the header has 11`,
	}
	if !slices.Equal(rowErrs, directory.RowErrors(want)) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(rowErrs, "\n"), strings.Join(want, "\n"))
	}
	if n := count(t, db, `SELECT count(*) FROM risks`); n != 0 {
		t.Errorf("%d risks imported from a file with problems, want none", n)
	}
	_, err = Import(context.Background(), db.App, "risks.csv", strings.NewReader("id,title\n"), "cli:test")
	if err == nil || !strings.Contains(err.Error(), `risks.csv:1: missing column "owner_id"`) {
		t.Errorf("a header without the columns: %v", err)
	}
}

// The demo register imports against the demo program's controls and people.
func TestDemoRegisterColumns(t *testing.T) {
	f, err := os.ReadFile("../../demo/risks.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, problems, err := readRisks("demo/risks.csv", strings.NewReader(string(f)))
	if err != nil || problems != nil || len(rows) < 20 {
		t.Fatalf("demo register: %d rows, %v, %v; want about 20 and no problems", len(rows), problems, err)
	}
}
