package completion_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/completion"
	"github.com/complyflow/complyflow/completion/internal/fixture"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// summary is what a test compares of a record: its control, action and the
// columns the view derives.
func summary(r completion.Record) string {
	program := "none"
	if r.ProgramVersion != nil {
		program = "program " + r.ProgramHash
	}
	return strings.Join([]string{r.Control, r.Action, r.Actor, r.Channel, r.PolicyVersions, r.Requirements, program}, " | ")
}

func all(t *testing.T, db *testenv.DB, f completion.Filter, pageSize int) []completion.Record {
	t.Helper()
	s, err := completion.Resolve(context.Background(), db.App, f)
	if err != nil {
		t.Fatal(err)
	}
	var out []completion.Record
	if err := s.Each(context.Background(), db.App, pageSize, func(r completion.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Per control and per framework requirement, the period's records of every
// process, each with its channel, the policy and program versions in force,
// and its audit-log row; the row after the period and the row with no
// control are not records.
func TestRecordsByControlFrameworkAndPeriod(t *testing.T) {
	db := testenv.Postgres(t)
	p := fixture.Seed(t, db)
	period := completion.Filter{From: p.From, To: p.To}

	got := all(t, db, period, 100)
	want := []string{
		"policy-mgmt | task.completed | sam |  | access 2022.1 | hipaa 164.316(a); soc2 CC5.3 | program abc123",
		"policy-mgmt | campaign.acknowledged | eve | slack | access 2022.1 | hipaa 164.316(a); soc2 CC5.3 | program abc123",
		"training | campaign.acknowledged | eve | slack | access 2022.1 | gdpr Art. 39 | program abc123",
		"access-removal | offboarding.access-removed | sam |  |  | soc2 CC6.2 | program abc123",
		"access-removal | evidence.uploaded | vendor-contact:acme |  |  | soc2 CC6.2 | program abc123",
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(want), got)
	}
	for i, r := range got {
		if summary(r) != want[i] {
			t.Errorf("record %d:\n got %s\nwant %s", i, summary(r), want[i])
		}
		var hash []byte
		db.App.Get(&hash, `SELECT hash FROM audit_log WHERE id = $1 AND control_id = $2 AND action = $3`, r.AuditID, r.Control, r.Action)
		if string(hash) != string(r.Hash) || len(hash) == 0 {
			t.Errorf("record %d: audit row %d's hash %x, the record says %x", i, r.AuditID, hash, r.Hash)
		}
		if r.At.Before(p.From) || !r.At.Before(p.To) {
			t.Errorf("record %d at %s: outside the period", i, r.At)
		}
	}

	for _, tc := range []struct {
		filter completion.Filter
		want   []string
	}{
		{completion.Filter{Framework: "soc2"}, []string{"policy-mgmt task.completed", "policy-mgmt campaign.acknowledged",
			"access-removal offboarding.access-removed", "access-removal evidence.uploaded"}},
		{completion.Filter{Framework: "soc2", Requirement: "CC5.3"}, []string{"policy-mgmt task.completed", "policy-mgmt campaign.acknowledged"}},
		{completion.Filter{Framework: "soc2", Control: "policy-mgmt"}, []string{"policy-mgmt task.completed", "policy-mgmt campaign.acknowledged"}},
		{completion.Filter{Framework: "soc2", Control: "CC5.3"}, []string{"policy-mgmt task.completed", "policy-mgmt campaign.acknowledged"}},
		{completion.Filter{Framework: "gdpr"}, []string{"training campaign.acknowledged"}},
		{completion.Filter{Control: "access-removal"}, []string{"access-removal offboarding.access-removed", "access-removal evidence.uploaded"}},
	} {
		f := tc.filter
		f.From, f.To = p.From, p.To
		var names []string
		for _, r := range all(t, db, f, 100) {
			names = append(names, r.Control+" "+r.Action)
			if f.Framework != "" && !strings.HasPrefix(r.Requirements, f.Framework+" ") {
				t.Errorf("%+v: requirements %q are not only %s's", tc.filter, r.Requirements, f.Framework)
			}
		}
		if strings.Join(names, ", ") != strings.Join(tc.want, ", ") {
			t.Errorf("%+v:\n got %v\nwant %v", tc.filter, names, tc.want)
		}
	}

	// The period's end is excluded; the row written after it is in a later one.
	later := all(t, db, completion.Filter{From: p.To, To: p.To.Add(time.Hour), Control: "policy-mgmt"}, 100)
	if len(later) != 1 || later[0].Subject != "task-2" {
		t.Errorf("after the period: %+v", later)
	}
}

// Keyset pages of any size add up to the one-page answer, in order, and a
// cursor survives its text form.
func TestKeysetPagesAddUpToTheWhole(t *testing.T) {
	db := testenv.Postgres(t)
	p := fixture.Seed(t, db)
	ctx := context.Background()
	s, err := completion.Resolve(ctx, db.App, completion.Filter{From: p.From, To: p.To})
	if err != nil {
		t.Fatal(err)
	}
	whole, next, err := s.Page(ctx, db.App, completion.Cursor{}, 100)
	if err != nil || next != (completion.Cursor{}) || len(whole) != 5 {
		t.Fatalf("one page: %d records, next %v, %v", len(whole), next, err)
	}
	for size := 1; size <= 5; size++ {
		var got []int64
		var after completion.Cursor
		for pages := 0; ; pages++ {
			page, next, err := s.Page(ctx, db.App, after, size)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				got = append(got, r.AuditID)
			}
			if next.ID == 0 {
				break
			}
			if after, err = completion.ParseCursor(next.String()); err != nil || after != next {
				t.Fatalf("cursor %q read back as %v: %v", next.String(), after, err)
			}
			if pages > 10 {
				t.Fatal("paging does not end")
			}
		}
		for i, r := range whole {
			if i >= len(got) || got[i] != r.AuditID {
				t.Fatalf("pages of %d: audit ids %v, want those of %v", size, got, whole)
			}
		}
		if len(got) != len(whole) {
			t.Fatalf("pages of %d: %d records, want %d", size, len(got), len(whole))
		}
	}
}

// A filter the program cannot answer is refused with what was wrong.
func TestResolveNamesWhatIsWrong(t *testing.T) {
	db := testenv.Postgres(t)
	p := fixture.Seed(t, db)
	for _, tc := range []struct {
		filter completion.Filter
		want   string
	}{
		{completion.Filter{From: p.To, To: p.From}, "must be before"},
		{completion.Filter{From: p.From, To: p.To, Framework: "iso27001"}, `framework "iso27001": not one of soc2, hipaa, gdpr`},
		{completion.Filter{From: p.From, To: p.To, Control: "nope"}, `control "nope": not in the program`},
		{completion.Filter{From: p.From, To: p.To, Framework: "gdpr", Control: "policy-mgmt"}, `control "policy-mgmt": not mapped to gdpr`},
		{completion.Filter{From: p.From, To: p.To, Framework: "soc2", Requirement: "CC9.9"}, `requirement soc2 "CC9.9": no control`},
		{completion.Filter{From: p.From, To: p.To, Requirement: "CC5.3"}, "name its framework too"},
	} {
		if _, err := completion.Resolve(context.Background(), db.App, tc.filter); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.filter, err, tc.want)
		}
	}
	if _, err := completion.ParseCursor("garbage"); err == nil {
		t.Error("a garbage cursor was accepted")
	}
}

// The completion_records view (for auditors' own SQL) and the query model
// give every record the same channel, policy versions and program version.
func TestViewAgreesWithTheQueryModel(t *testing.T) {
	db := testenv.Postgres(t)
	p := fixture.Seed(t, db)
	records := all(t, db, completion.Filter{From: p.From, To: p.To}, 100)
	for _, r := range records {
		var v struct {
			Channel        string `db:"channel"`
			PolicyVersions string `db:"policy_versions"`
			ProgramVersion *int64 `db:"program_version"`
			ProgramHash    string `db:"program_hash"`
		}
		if err := db.App.Get(&v, `SELECT channel, policy_versions, program_version, program_hash FROM completion_records
			WHERE audit_id = $1`, r.AuditID); err != nil {
			t.Fatal(err)
		}
		if v.Channel != r.Channel || v.PolicyVersions != r.PolicyVersions || v.ProgramHash != r.ProgramHash ||
			(v.ProgramVersion == nil) != (r.ProgramVersion == nil) || (v.ProgramVersion != nil && *v.ProgramVersion != *r.ProgramVersion) {
			t.Errorf("audit row %d: the view says %+v, the query model %q %q %v %q", r.AuditID, v, r.Channel, r.PolicyVersions, r.ProgramVersion, r.ProgramHash)
		}
	}
}
