package directory

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// Criticalities are a vendor's possible criticalities, lowest first; the
// program file sets a review cadence for each.
var Criticalities = []string{"low", "medium", "high", "critical"}

func importVendors(ctx context.Context, tx *sqlx.Tx, c *rowChecker, recs []record, res *Result) error {
	c.uniqueIDs(recs)
	known, err := knownPeople(ctx, tx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		c.required(r, "name")
		c.email(r, "contact_email", true)
		c.owner(r, known)
		c.oneOf(r, "criticality", Criticalities...)
	}
	if err := c.err(); err != nil {
		return err
	}
	rows, err := tx.QueryxContext(ctx, `
		INSERT INTO vendors (id, name, contact_email, owner_id, criticality)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, contact_email = EXCLUDED.contact_email,
		    owner_id = EXCLUDED.owner_id, criticality = EXCLUDED.criticality, updated_at = now()
		RETURNING (xmax = 0)`, columnArrays(recs, Columns[Vendors])...)
	if err != nil {
		return err
	}
	return countUpserts(rows, res)
}
