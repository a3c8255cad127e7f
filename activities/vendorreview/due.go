package vendorreview

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"
)

// DueVendorsInput asks which vendors are due a review at At.
type DueVendorsInput struct {
	At time.Time
	// CadenceMonths is how often a vendor of each criticality is reviewed
	// (the program file's obligation).
	CadenceMonths map[string]int
}

// DueVendor is a vendor to review now, under a cycle name not yet used.
type DueVendor struct {
	VendorID      string `db:"id"`
	Criticality   string `db:"criticality"`
	Cycle         string
	CadenceMonths int
}

// DueVendors lists the vendors due a review: none open for them, and either
// never reviewed or their last accepted report's next request date reached.
// A vendor whose criticality has no cadence is not reviewed by the schedule.
// Each gets the cycle name At's year, or YEAR-2, YEAR-3... when taken.
func (a *Activities) DueVendors(ctx context.Context, in DueVendorsInput) ([]DueVendor, error) {
	var due []DueVendor
	if err := a.DB.SelectContext(ctx, &due, `
		SELECT v.id, v.criticality FROM vendors v
		WHERE NOT EXISTS (SELECT FROM vendor_reviews r WHERE r.vendor_id = v.id AND r.status <> 'accepted')
		  AND coalesce((SELECT max(r.next_request_at) FROM vendor_reviews r WHERE r.vendor_id = v.id AND r.status = 'accepted'), '-infinity') <= $1
		ORDER BY v.id`, in.At); err != nil {
		return nil, fmt.Errorf("list vendors due a review: %w", err)
	}
	out := due[:0]
	for _, d := range due {
		months, ok := in.CadenceMonths[d.Criticality]
		if !ok {
			continue
		}
		var used pq.StringArray
		if err := a.DB.GetContext(ctx, &used, `SELECT coalesce(array_agg(cycle), '{}') FROM vendor_reviews WHERE vendor_id = $1`, d.VendorID); err != nil {
			return nil, fmt.Errorf("cycles of %s: %w", d.VendorID, err)
		}
		d.Cycle, d.CadenceMonths = freeCycle(in.At.UTC().Year(), used), months
		out = append(out, d)
	}
	return out, nil
}

func freeCycle(year int, used []string) string {
	taken := map[string]bool{}
	for _, c := range used {
		taken[c] = true
	}
	name := strconv.Itoa(year)
	for n := 2; taken[name]; n++ {
		name = fmt.Sprintf("%d-%d", year, n)
	}
	return name
}
