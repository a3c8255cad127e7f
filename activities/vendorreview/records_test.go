package vendorreview

import (
	"context"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The next request is dated from the period end: +cadence -lead, whatever
// day the report came in.
func TestNextCycle(t *testing.T) {
	end := time.Date(2025, 6, 30, 0, 0, 0, 0, time.FixedZone("EST", -5*3600))
	cov, next := NextCycle(end, 24, 60)
	if !cov.Equal(time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)) || !next.Equal(time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("NextCycle = %s, %s", cov, next)
	}
}

// A vendor whose last accepted report's coverage has ended shows as lapsed,
// even while a newer cycle waits for a report; one covered shows covered;
// one never reviewed says so.
func TestStandingsShowLapsedVendors(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('olga', 'olga@example.com', 'Olga Owner');
		INSERT INTO vendors (id, name, contact_email, owner_id, criticality) VALUES
			('v-old', 'Old', 'a@old.example', 'olga', 'high'), ('v-ok', 'Ok', 'a@ok.example', 'olga', 'high'), ('v-new', 'New', 'a@new.example', 'olga', 'low');
		INSERT INTO vendor_reviews (id, vendor_id, cycle, status, requested_at, due_at, reviewer_id, cadence_months, request_before_days, coverage_until) VALUES
			('vendor-review/v-old/2024', 'v-old', '2024', 'accepted', '2024-01-10', '2024-02-01', 'olga', 12, 60, '2025-12-31'),
			('vendor-review/v-old/2025', 'v-old', '2025', 'requested', '2025-11-01', '2025-11-22', 'olga', 12, 60, NULL),
			('vendor-review/v-ok/2026', 'v-ok', '2026', 'accepted', '2026-01-10', '2026-02-01', 'olga', 12, 60, '2026-12-31')`)
	ss, err := Standings(context.Background(), db.App, "", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range ss {
		got[s.VendorID] = s.State
	}
	if got["v-old"] != "lapsed" || got["v-ok"] != "covered" || got["v-new"] != "never reviewed" {
		t.Errorf("standings %v", got)
	}
}
