package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// LapsedVendor is a vendor no accepted SOC 2 report covers now (controls
// list B, Vendor Due Diligence Review: reports "collected and reviewed on at
// least an annual basis"), with the cycle open for it, if any.
type LapsedVendor struct {
	ID          string `db:"id"`
	Name        string `db:"name"`
	Criticality string `db:"criticality"`
	OwnerID     string `db:"owner_id"`
	OwnerName   string `db:"owner_name"`
	// CoverageUntil is when the last accepted report's coverage ended;
	// nil when no report was ever accepted.
	CoverageUntil *time.Time `db:"coverage_until"`
	// The cycle asking for the next report, if one is open.
	OpenReview  string     `db:"open_review"`
	OpenStatus  string     `db:"open_status"`
	OpenDue     *time.Time `db:"open_due"`
	OpenOverdue bool       `db:"-"`
}

// LapsedVendors lists the vendors whose coverage has ended (as
// vendorreview.Standings says "lapsed": the last accepted report's coverage
// is not after now) or who never had a report accepted, longest lapsed
// first.
func LapsedVendors(ctx context.Context, q sqlx.QueryerContext, now time.Time) ([]LapsedVendor, error) {
	var out []LapsedVendor
	err := sqlx.SelectContext(ctx, q, &out, `
		SELECT v.id, v.name, v.criticality, v.owner_id, coalesce(po.name, '') AS owner_name, cov.until AS coverage_until,
		       coalesce(cur.id, '') AS open_review, coalesce(cur.status, '') AS open_status, cur.due_at AS open_due
		FROM vendors v
		CROSS JOIN LATERAL (SELECT max(r.coverage_until) AS until FROM vendor_reviews r WHERE r.vendor_id = v.id) cov
		LEFT JOIN LATERAL (SELECT r.id, r.status, r.due_at FROM vendor_reviews r
		                   WHERE r.vendor_id = v.id AND r.status IN ('requested', 'received')
		                   ORDER BY r.created_at DESC LIMIT 1) cur ON true
		LEFT JOIN people po ON po.id = v.owner_id
		WHERE cov.until IS NULL OR (cov.until::timestamp AT TIME ZONE 'UTC') <= $1
		ORDER BY cov.until NULLS FIRST, v.id`, now)
	if err != nil {
		return nil, fmt.Errorf("lapsed vendors: %w", err)
	}
	for i := range out {
		out[i].OpenOverdue = out[i].OpenDue != nil && out[i].OpenDue.Before(now)
	}
	return out, nil
}
