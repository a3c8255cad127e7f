package directory

import (
	"context"

	"github.com/jmoiron/sqlx"
)

func importPeople(ctx context.Context, tx *sqlx.Tx, c *rowChecker, recs []record, res *Result) error {
	c.uniqueIDs(recs)
	// Everyone already in the directory, with their manager: one read for
	// both the unknown-manager and the cycle checks.
	managers, err := currentManagers(ctx, tx)
	if err != nil {
		return err
	}
	inFile := map[string]bool{}
	for _, r := range recs {
		inFile[r.get("id")] = true
	}
	for _, r := range recs {
		c.required(r, "name")
		c.email(r, "email", false)
		start, end := c.date(r, "start_date"), c.date(r, "end_date")
		if start != nil && end != nil && end.Before(*start) {
			c.fail(r.line, "end_date %s is before start_date %s", r.get("end_date"), r.get("start_date"))
		}
		id, mgr := r.get("id"), r.get("manager_id")
		_, known := managers[mgr]
		switch {
		case mgr == "":
		case mgr == id:
			c.fail(r.line, "manager_id %q is the person themself", mgr)
		case !inFile[mgr] && !known:
			c.fail(r.line, "manager_id %q is not a known person", mgr)
		}
		managers[id] = mgr
	}
	for _, r := range recs {
		if cycle := managerCycle(managers, r.get("id")); cycle != nil && r.get("manager_id") != r.get("id") {
			c.fail(r.line, "manager cycle: %v", cycle)
		}
	}
	if err := c.err(); err != nil {
		return err
	}

	rows, err := tx.QueryxContext(ctx, `
		INSERT INTO people (id, email, name, manager_id, slack_user_id, department, title, start_date, end_date)
		SELECT id, email, name, NULLIF(manager_id, ''), slack_user_id, department, title,
		       NULLIF(start_date, '')::date, NULLIF(end_date, '')::date
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
		     AS f(id, email, name, manager_id, slack_user_id, department, title, start_date, end_date)
		ON CONFLICT (id) DO UPDATE SET
		    email = EXCLUDED.email, name = EXCLUDED.name, manager_id = EXCLUDED.manager_id,
		    slack_user_id = EXCLUDED.slack_user_id, department = EXCLUDED.department, title = EXCLUDED.title,
		    start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, updated_at = now()
		RETURNING (xmax = 0)`, columnArrays(recs, Columns[People])...)
	if err != nil {
		return err
	}
	return countUpserts(rows, res)
}

func currentManagers(ctx context.Context, tx *sqlx.Tx) (map[string]string, error) {
	var rows []struct {
		ID      string `db:"id"`
		Manager string `db:"manager_id"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT id, coalesce(manager_id, '') AS manager_id FROM people`); err != nil {
		return nil, err
	}
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r.ID] = r.Manager
	}
	return m, nil
}

// managerCycle follows the management chain up from id and returns the chain
// if it comes back to id, or nil when it ends at someone with no manager.
func managerCycle(managers map[string]string, id string) []string {
	chain := []string{id}
	seen := map[string]bool{id: true}
	for cur := managers[id]; cur != ""; cur = managers[cur] {
		chain = append(chain, cur)
		if cur == id {
			return chain
		}
		if seen[cur] {
			return nil // a cycle further up that does not include id: reported on its own rows
		}
		seen[cur] = true
	}
	return nil
}
