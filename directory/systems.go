package directory

import (
	"context"
	"regexp"

	"github.com/jmoiron/sqlx"
)

// Removal methods a system's access is removed by (offboarding).
const (
	RemovalManual  = "manual"  // a task to the system's owner
	RemovalWebhook = "webhook" // a signed POST to webhook_url
	RemovalSCIM    = "scim"    // SCIM 2.0 at scim_base_url, token in env scim_token_env
)

// envName is an environment variable name as a shell accepts it.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func importSystems(ctx context.Context, tx *sqlx.Tx, c *rowChecker, recs []record, res *Result) error {
	c.uniqueIDs(recs)
	known, err := knownPeople(ctx, tx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		c.required(r, "name")
		c.owner(r, known)
		c.oneOf(r, "criticality", "low", "medium", "high", "critical")
		method := c.oneOf(r, "removal_method", RemovalManual, RemovalWebhook, RemovalSCIM)
		// Each method's own columns, and no other's: a URL left from an
		// earlier method would mislead whoever reads the inventory.
		for _, col := range []string{"webhook_url", "scim_base_url", "scim_token_env"} {
			needed := col == "webhook_url" && method == RemovalWebhook || col != "webhook_url" && method == RemovalSCIM
			switch {
			case needed && col == "scim_token_env":
				if !envName.MatchString(r.get(col)) {
					c.fail(r.line, "scim_token_env %q is not an environment variable name such as SCIM_TOKEN_OKTA", r.get(col))
				}
			case needed:
				c.webURL(r, col)
			case r.get(col) != "":
				c.fail(r.line, "%s is set but removal_method is %s", col, method)
			}
		}
	}
	if err := c.err(); err != nil {
		return err
	}
	rows, err := tx.QueryxContext(ctx, `
		INSERT INTO systems (id, name, owner_id, removal_method, webhook_url, criticality, scim_base_url, scim_token_env)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, owner_id = EXCLUDED.owner_id,
		    removal_method = EXCLUDED.removal_method, webhook_url = EXCLUDED.webhook_url, criticality = EXCLUDED.criticality,
		    scim_base_url = EXCLUDED.scim_base_url, scim_token_env = EXCLUDED.scim_token_env, updated_at = now()
		RETURNING (xmax = 0)`, columnArrays(recs, Columns[Systems])...)
	if err != nil {
		return err
	}
	return countUpserts(rows, res)
}
