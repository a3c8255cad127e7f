package directory

import (
	"context"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Kind is what a file holds.
type Kind string

// The kinds of directory file.
const (
	People  Kind = "people"
	Systems Kind = "systems"
	Vendors Kind = "vendors"
)

// Columns are each kind's CSV columns.
var Columns = map[Kind][]string{
	People:  {"id", "email", "name", "manager_id", "slack_user_id", "department", "title", "start_date", "end_date"},
	Systems: {"id", "name", "owner_id", "removal_method", "webhook_url", "criticality", "scim_base_url", "scim_token_env"},
	Vendors: {"id", "name", "contact_email", "owner_id", "criticality"},
}

// Result counts what an import wrote.
type Result struct {
	Kind     Kind   `json:"kind"`
	File     string `json:"file"`
	Inserted int    `json:"inserted"`
	Updated  int    `json:"updated"`
	// Leavers are the people whose end date this import newly set (people
	// only): the HR feed's offboardings to start once it has committed.
	Leavers []Leaver `json:"leavers,omitempty"`
}

// Leaver is a person whose end date an import newly set.
type Leaver struct {
	PersonID string `json:"person"`
	LastDay  string `json:"last_day"` // YYYY-MM-DD
}

// Import reads one CSV file of the given kind and upserts it by id. Every row
// is checked before anything is written; with any problem the result is a
// RowErrors naming each FILE:LINE and the tables are left as they were.
func Import(ctx context.Context, db *sqlx.DB, kind Kind, file string, in io.Reader, actor string) (Result, error) {
	cols, ok := Columns[kind]
	if !ok {
		return Result{}, fmt.Errorf("unknown kind %q: expected people, systems or vendors", kind)
	}
	recs, unreadable, err := readCSV(file, in, cols)
	if err != nil {
		return Result{}, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Result{}, err
	}
	defer tx.Rollback()
	// Validation reads the people already there (managers, owners); the lock
	// keeps a concurrent import from changing them until this one commits.
	if _, err := tx.ExecContext(ctx, `LOCK TABLE people IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return Result{}, err
	}
	res := Result{Kind: kind, File: file}
	c := &rowChecker{file: file, problems: unreadable}
	switch kind {
	case People:
		err = importPeople(ctx, tx, c, recs, &res)
	case Systems:
		err = importSystems(ctx, tx, c, recs, &res)
	case Vendors:
		err = importVendors(ctx, tx, c, recs, &res)
	}
	if err != nil {
		return Result{}, err
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "directory.import", Subject: string(kind), Detail: res}); err != nil {
		return Result{}, err
	}
	return res, tx.Commit()
}

// rowChecker collects the problems of one file.
type rowChecker struct {
	file     string
	problems []rowProblem
}

// rowProblem is one reason a line of the file cannot be imported.
type rowProblem struct {
	line   int
	reason string
}

func (c *rowChecker) fail(line int, format string, args ...any) {
	c.problems = append(c.problems, rowProblem{line, fmt.Sprintf(format, args...)})
}

func (c *rowChecker) required(r record, col string) string {
	v := r.get(col)
	if v == "" {
		c.fail(r.line, "%s is empty", col)
	}
	return v
}

func (c *rowChecker) email(r record, col string, required bool) string {
	v := r.get(col)
	if v == "" {
		if required {
			c.fail(r.line, "%s is empty", col)
		}
		return v
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
		c.fail(r.line, "%s %q is not an email address", col, v)
	}
	return v
}

func (c *rowChecker) date(r record, col string) *time.Time {
	v := r.get(col)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		c.fail(r.line, "%s %q is not a date (YYYY-MM-DD)", col, v)
		return nil
	}
	return &t
}

func (c *rowChecker) oneOf(r record, col string, allowed ...string) string {
	v := r.get(col)
	if !slices.Contains(allowed, v) {
		c.fail(r.line, "%s %q is not one of %v", col, v, allowed)
	}
	return v
}

func (c *rowChecker) uniqueIDs(recs []record) {
	first := map[string]int{}
	for _, r := range recs {
		id := c.required(r, "id")
		if id == "" {
			continue
		}
		if !ValidID(id) {
			c.fail(r.line, "id %q: %s", id, IDRule)
		}
		if l, dup := first[id]; dup {
			c.fail(r.line, "id %q already on line %d", id, l)
			continue
		}
		first[id] = r.line
	}
}

// owner checks the owner_id column names a person already imported.
func (c *rowChecker) owner(r record, known map[string]bool) {
	if owner := c.required(r, "owner_id"); owner != "" && !known[owner] {
		c.fail(r.line, "owner_id %q is not a known person (import people first)", owner)
	}
}

func (c *rowChecker) webURL(r record, col string) string {
	v := r.get(col)
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		c.fail(r.line, "%s %q is not an http(s) URL", col, v)
	}
	return v
}

// err is every problem found, in line order.
func (c *rowChecker) err() error {
	if c.problems == nil {
		return nil
	}
	sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].line < c.problems[j].line })
	out := make(RowErrors, len(c.problems))
	for i, p := range c.problems {
		out[i] = fmt.Sprintf("%s:%d: %s", c.file, p.line, p.reason)
	}
	return out
}

// knownPeople is the set of person IDs in the table now.
func knownPeople(ctx context.Context, tx *sqlx.Tx) (map[string]bool, error) {
	var ids []string
	if err := tx.SelectContext(ctx, &ids, `SELECT id FROM people`); err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(ids))
	for _, id := range ids {
		known[id] = true
	}
	return known, nil
}

// columnArrays turns the rows into one array per column, the arguments of an
// INSERT ... SELECT FROM unnest(...) that writes the whole file in one statement.
func columnArrays(recs []record, cols []string) []any {
	arrays := make([][]string, len(cols))
	for _, r := range recs {
		for i, col := range cols {
			arrays[i] = append(arrays[i], r.get(col))
		}
	}
	args := make([]any, len(cols))
	for i := range arrays {
		args[i] = pq.Array(arrays[i])
	}
	return args
}

// countUpserts tallies RETURNING (xmax = 0), which is true for an inserted row.
func countUpserts(rows *sqlx.Rows, res *Result) error {
	defer rows.Close()
	for rows.Next() {
		var inserted bool
		if err := rows.Scan(&inserted); err != nil {
			return err
		}
		if inserted {
			res.Inserted++
		} else {
			res.Updated++
		}
	}
	return rows.Err()
}
