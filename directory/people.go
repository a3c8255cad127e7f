package directory

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"
)

func importPeople(ctx context.Context, tx *sqlx.Tx, c *rowChecker, recs []record, res *Result) error {
	c.uniqueIDs(recs)
	// Everyone already in the directory, with their manager: one read for
	// both the unknown-manager and the cycle checks.
	managers, endDates, err := currentPeople(ctx, tx)
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
		// The HR feed: an end date newly set on someone already in the
		// directory starts their offboarding (after the import commits). A
		// new person arriving with an end date is history, not a leaver.
		if prev, known := endDates[id]; known && end != nil && prev != r.get("end_date") {
			res.Leavers = append(res.Leavers, Leaver{PersonID: id, LastDay: r.get("end_date")})
		}
	}
	taken, err := contactsOutside(ctx, tx, inFile)
	if err != nil {
		return err
	}
	c.uniqueContact(recs, "email", taken["email"])
	c.uniqueContact(recs, "slack_user_id", taken["slack_user_id"])
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

// currentPeople reads everyone in the directory once: each one's manager and
// end date (YYYY-MM-DD, empty when none).
func currentPeople(ctx context.Context, tx *sqlx.Tx) (managers, endDates map[string]string, err error) {
	var rows []struct {
		ID      string `db:"id"`
		Manager string `db:"manager_id"`
		End     string `db:"end_date"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT id, coalesce(manager_id, '') AS manager_id,
		coalesce(to_char(end_date, 'YYYY-MM-DD'), '') AS end_date FROM people`); err != nil {
		return nil, nil, err
	}
	managers, endDates = make(map[string]string, len(rows)), make(map[string]string, len(rows))
	for _, r := range rows {
		managers[r.ID], endDates[r.ID] = r.Manager, r.End
	}
	return managers, endDates, nil
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

// contactKey is how two emails or Slack user IDs compare: without case, since
// mail servers and Slack treat Maria@ and maria@ as the same.
func contactKey(v string) string { return strings.ToLower(v) }

// uniqueContact refuses an email or Slack user ID (col) that two people would
// share, since one of them would then receive the other's messages and signed
// links: two rows of the file, or a row and a person already in the table that
// the file leaves as they are (taken, by contactKey, from contactsOutside).
func (c *rowChecker) uniqueContact(recs []record, col string, taken map[string]string) {
	first := map[string]record{}
	for _, r := range recs {
		v := r.get(col)
		if v == "" {
			continue
		}
		k := contactKey(v)
		if f, dup := first[k]; dup {
			c.fail(r.line, "%s %q is also person %q's (line %d)", col, v, f.get("id"), f.line)
			continue
		}
		first[k] = r
		if id, ok := taken[k]; ok {
			c.fail(r.line, "%s %q is also person %q's (already imported)", col, v, id)
		}
	}
}

// contactsOutside is, for email and slack_user_id, every value held by a
// person in the table whom the file does not replace, by contactKey.
func contactsOutside(ctx context.Context, tx *sqlx.Tx, inFile map[string]bool) (map[string]map[string]string, error) {
	var rows []struct {
		ID    string `db:"id"`
		Email string `db:"email"`
		Slack string `db:"slack_user_id"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT id, email, slack_user_id FROM people WHERE email <> '' OR slack_user_id <> '' ORDER BY id`); err != nil {
		return nil, err
	}
	taken := map[string]map[string]string{"email": {}, "slack_user_id": {}}
	for _, r := range rows {
		if inFile[r.ID] {
			continue
		}
		for col, v := range map[string]string{"email": r.Email, "slack_user_id": r.Slack} {
			if v = strings.TrimSpace(v); v != "" {
				if _, seen := taken[col][contactKey(v)]; !seen {
					taken[col][contactKey(v)] = r.ID
				}
			}
		}
	}
	return taken, nil
}
