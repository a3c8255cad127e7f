package directory

import (
	"context"

	"github.com/jmoiron/sqlx"
)

func importSystems(ctx context.Context, tx *sqlx.Tx, c *rowChecker, recs []record, res *Result) error {
	c.uniqueIDs(recs)
	known, err := knownPeople(ctx, tx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		c.required(r, "name")
		c.owner(r, known)
		switch c.oneOf(r, "removal_method", "task", "webhook") {
		case "webhook":
			c.webURL(r, "webhook_url")
		case "task":
			if r.get("webhook_url") != "" {
				c.fail(r.line, "webhook_url is set but removal_method is task")
			}
		}
	}
	if err := c.err(); err != nil {
		return err
	}
	rows, err := tx.QueryxContext(ctx, `
		INSERT INTO systems (id, name, owner_id, removal_method, webhook_url)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, owner_id = EXCLUDED.owner_id,
		    removal_method = EXCLUDED.removal_method, webhook_url = EXCLUDED.webhook_url, updated_at = now()
		RETURNING (xmax = 0)`, columnArrays(recs, Columns[Systems])...)
	if err != nil {
		return err
	}
	return countUpserts(rows, res)
}
