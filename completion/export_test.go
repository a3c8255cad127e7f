package completion_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/complyflow/complyflow/completion"
	"github.com/complyflow/complyflow/completion/internal/fixture"
	"github.com/complyflow/complyflow/internal/testenv"
)

// expected is the export's rows for records: the header, then each record's
// columns, with the time as the reader shows it.
func expected(records []completion.Record, at func(time.Time) string) [][]string {
	rows := [][]string{completion.Columns}
	for _, r := range records {
		program := ""
		if r.ProgramVersion != nil {
			program = strconv.FormatInt(*r.ProgramVersion, 10)
		}
		rows = append(rows, []string{strconv.FormatInt(r.AuditID, 10), at(r.At), r.Control, r.Requirements, r.Actor, r.Action, r.Subject,
			r.Channel, r.PolicyVersions, program, r.ProgramHash, hex.EncodeToString(r.Hash), string(r.Detail)})
	}
	return rows
}

func equalRows(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d:\n%q", what, len(got), len(want), got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("%s row %d: %q, want %q", what, i, got[i], want[i])
		}
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Errorf("%s row %d column %s: %q, want %q", what, i, completion.Columns[j], got[i][j], want[i][j])
			}
		}
	}
}

// The CSV export's rows are the query's rows, header first.
func TestCSVExportEqualsTheQuery(t *testing.T) {
	db := testenv.Postgres(t)
	p := fixture.Seed(t, db)
	f := completion.Filter{From: p.From, To: p.To, Framework: "soc2"}
	records := all(t, db, f, 100)
	s, err := completion.Resolve(context.Background(), db.App, f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := s.WriteCSV(context.Background(), db.App, &buf)
	if err != nil || n != len(records) || n == 0 {
		t.Fatalf("wrote %d of %d records: %v", n, len(records), err)
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, "csv", got, expected(records, func(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }))
}

// The XLSX export opens in a second reader, openpyxl, with the query's rows:
// the time a real Excel date (to the millisecond), the id a number.
func TestXLSXExportOpensInOpenpyxlWithTheQuerysRows(t *testing.T) {
	python := pythonWithOpenpyxl()
	if python == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no python3 with openpyxl (scripts/test.sh installs python3-openpyxl)")
		}
		t.Skip("python3-openpyxl is not installed (apt-get install -y python3-openpyxl; scripts/test.sh does it): the XLSX export is not checked in a second reader")
	}
	db := testenv.Postgres(t)
	p := fixture.Seed(t, db)
	f := completion.Filter{From: p.From, To: p.To}
	records := all(t, db, f, 100)
	s, err := completion.Resolve(context.Background(), db.App, f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "records.xlsx")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.WriteXLSX(context.Background(), db.App, out)
	out.Close()
	if err != nil || n != len(records) {
		t.Fatalf("wrote %d of %d records: %v", n, len(records), err)
	}
	js, err := exec.Command(python, "testdata/read_xlsx.py", path, completion.SheetRecords).Output()
	if err != nil {
		t.Fatalf("openpyxl could not read the workbook: %v", err)
	}
	var got [][]string
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	equalRows(t, "xlsx", got, expected(records, func(at time.Time) string {
		return at.UTC().Round(time.Millisecond).Format("2006-01-02T15:04:05.000")
	}))
}

// pythonWithOpenpyxl is the first python3 that imports openpyxl: the one on
// PATH (perhaps a pyenv shim), else the system's, where apt installs it.
func pythonWithOpenpyxl() string {
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import openpyxl").Run() == nil {
			return p
		}
	}
	return ""
}
