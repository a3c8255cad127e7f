package completion_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/completion"
	"github.com/complyflow/complyflow/internal/testenv"
)

// benchYear is the period the benchmarks' records fill.
var benchYear = completion.Filter{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}

// seedRecords writes n completion records over 2026 for ten controls mapped
// to soc2, as the table owner in one INSERT with the chain trigger paused:
// a million chained appends take minutes, and the query model does not read
// the chain. The rows are real audit_log rows otherwise, read through the
// same view and indexes.
func seedRecords(b *testing.B, n int) *testenv.DB {
	b.Helper()
	db := testenv.Postgres(b)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer');
		INSERT INTO people (id, name) SELECT 'person-' || i, 'Person ' || i FROM generate_series(0, 9999) i;
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES ('access', 'Access Control Policy', 'sam', 'policies/access.md', '2022-06-01');
		INSERT INTO controls (id, title, processes)
			SELECT 'control-' || i, 'Control ' || i, CASE WHEN i < 5 THEN '{offboarding}'::text[] ELSE '{vendor-review}' END FROM generate_series(0, 9) i;
		INSERT INTO framework_requirements (framework, ref) SELECT 'soc2', 'CC' || i || '.1' FROM generate_series(0, 9) i;
		INSERT INTO control_requirements (control_id, framework, ref) SELECT 'control-' || i, 'soc2', 'CC' || i || '.1' FROM generate_series(0, 9) i;
		INSERT INTO control_policies (control_id, policy_id) SELECT 'control-' || i, 'access' FROM generate_series(0, 4) i;
		INSERT INTO program_versions (content_hash, file, content, obligation_ids, applied_by, applied_at)
			VALUES ('abc', 'program.yaml', 'controls: []', '{}', 'sam', '2025-12-01');
		ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain;`)
	db.Owner.MustExec(`
		INSERT INTO audit_log (id, at, actor, action, subject, control_id, detail, prev_hash, hash)
		SELECT nextval('audit_log_id_seq'), $2::timestamptz + (i * (interval '365 days' / $1)), 'person-' || (i % 10000), 'task.completed',
		       'task-' || i, 'control-' || (i % 10),
		       CASE WHEN i % 3 = 0 THEN jsonb_build_object('channel', 'slack', 'policies', jsonb_build_array(jsonb_build_object('policy', 'access', 'version', '2022.1')))
		            ELSE jsonb_build_object('action', 'done') END,
		       '\x', '\x'
		FROM generate_series(0, $1 - 1) i ORDER BY i`, n, benchYear.From)
	db.Owner.MustExec(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_chain`)
	// What autovacuum does to a table this size soon after: statistics, and
	// the visibility map that lets the index answer without the heap.
	db.Owner.MustExec(`VACUUM ANALYZE audit_log`)
	return db
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func p99(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[(len(d)*99)/100]
}

// The record query over 1,000,000 records: a point query (the first record
// of one control from a time in the period) and keyset pages of 100, of one
// control, across a framework's ten and across a process's five, each from a
// cursor spread over the year; and pages of 10 of one person's records (100
// of the year's million, all of control-3) from a cursor spread over its
// first half.
// Goal (issue 16): p99 at most 5 ms.
func BenchmarkRecordQuery1M(b *testing.B) {
	db := seedRecords(b, 1_000_000)
	ctx := context.Background()
	control, err := completion.Resolve(ctx, db.App, completion.Filter{From: benchYear.From, To: benchYear.To, Control: "control-3"})
	if err != nil {
		b.Fatal(err)
	}
	framework, err := completion.Resolve(ctx, db.App, completion.Filter{From: benchYear.From, To: benchYear.To, Framework: "soc2"})
	if err != nil {
		b.Fatal(err)
	}
	process, err := completion.Resolve(ctx, db.App, completion.Filter{From: benchYear.From, To: benchYear.To, Process: "offboarding"})
	if err != nil {
		b.Fatal(err)
	}
	person, err := completion.Resolve(ctx, db.App, completion.Filter{From: benchYear.From, To: benchYear.To, Person: "person-3"})
	if err != nil {
		b.Fatal(err)
	}
	// A person's page is index ranges of audit_log_actor_control_at_idx
	// (schema/0021), not a walk of the control's rows filtered by actor.
	var plan []string
	if err := db.App.Select(&plan, "EXPLAIN "+completion.PageSQL(len(person.Controls), true),
		append([]any{benchYear.From, benchYear.To, benchYear.From, 1, 10, "person-3"}, anySlice(person.Controls)...)...); err != nil {
		b.Fatal(err)
	}
	if text := strings.Join(plan, "\n"); !strings.Contains(text, "audit_log_actor_control_at_idx") {
		b.Fatalf("a person's page does not use audit_log_actor_control_at_idx:\n%s", text)
	}
	for _, tc := range []struct {
		name  string
		scope completion.Scope
		limit int
		hours int // the cursors' spread from the year's start
	}{{"point", control, 1, 8000}, {"page100-control", control, 100, 8000}, {"page100-framework", framework, 100, 8000},
		{"page100-process", process, 100, 8000}, {"page10-person", person, 10, 4000}} {
		b.Run(tc.name, func(b *testing.B) {
			var took []time.Duration
			for i := 0; b.Loop(); i++ {
				after := completion.Cursor{At: benchYear.From.Add(time.Duration(i*7919%tc.hours) * time.Hour), ID: 1}
				start := time.Now()
				page, _, err := tc.scope.Page(ctx, db.App, after, tc.limit)
				took = append(took, time.Since(start))
				if err != nil || len(page) != tc.limit {
					b.Fatalf("%d records, %v", len(page), err)
				}
			}
			b.ReportMetric(float64(p99(took).Microseconds())/1000, "p99-ms")
		})
	}
}

// Exports to io.Discard: CSV of 1,000,000 records (goal at most 10 s) and
// XLSX of 100,000 (at most 15 s), with the peak resident memory of the
// export alone (the peak is reset before it starts).
func BenchmarkExportCSV1M(b *testing.B) {
	benchExport(b, 1_000_000, completion.Scope.WriteCSV)
}

func BenchmarkExportXLSX100k(b *testing.B) {
	benchExport(b, 100_000, completion.Scope.WriteXLSX)
}

func benchExport(b *testing.B, n int, write func(completion.Scope, context.Context, sqlx.QueryerContext, io.Writer) (int, error)) {
	db := seedRecords(b, n)
	ctx := context.Background()
	s, err := completion.Resolve(ctx, db.App, benchYear)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		resetPeakRSS(b)
		start := time.Now()
		got, err := write(s, ctx, db.App, io.Discard)
		if err != nil || got != n {
			b.Fatalf("%d of %d records: %v", got, n, err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/export")
		b.ReportMetric(peakRSSMiB(b), "peak-RSS-MiB")
	}
}

// resetPeakRSS sets this process's VmHWM back to its current resident set.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("reset the peak RSS: %v", err)
	}
}

func peakRSSMiB(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
