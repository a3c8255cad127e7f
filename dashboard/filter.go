package dashboard

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Filter narrows the open items; a zero field does not narrow.
type Filter struct {
	Process string // a Processes name
	Control string // a control the item evidences
	Person  string // the assignee
	// ReportsOf keeps the items of this manager's direct and indirect
	// reports only (the manager's view, issue 15 item 3).
	ReportsOf string

	team []string // ReportsOf's reports, once Resolve looked them up
}

// Check refuses a process the dashboard does not know.
func (f Filter) Check() error {
	if _, ok := LookupProcess(f.Process); f.Process != "" && !ok {
		names := make([]string, len(Processes))
		for i, p := range Processes {
			names[i] = p.Name
		}
		return fmt.Errorf("process %q is not one of %s", f.Process, strings.Join(names, ", "))
	}
	return nil
}

// sqlArgs numbers a query's parameters as they are added.
type sqlArgs []any

func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// Reports is everyone who reports to manager, directly or through other
// managers. UNION (not UNION ALL) ends the walk even on a cycle in the
// directory.
func Reports(ctx context.Context, q sqlx.QueryerContext, manager string) ([]string, error) {
	reports := []string{}
	err := sqlx.SelectContext(ctx, q, &reports, `
		WITH RECURSIVE reports(id) AS (
			SELECT id FROM people WHERE manager_id = $1
			UNION
			SELECT p.id FROM people p JOIN reports r ON p.manager_id = r.id)
		SELECT id FROM reports WHERE id <> $1 ORDER BY id`, manager)
	if err != nil {
		return nil, fmt.Errorf("reports of %s: %w", manager, err)
	}
	return reports, nil
}

// Resolve looks ReportsOf's reports up, once for every query made with
// the filter it answers; a query given an unresolved filter resolves it
// itself. Passed to the queries as an array, the team is a parameter the
// planner sizes, where a recursive CTE in each query would be a guess.
func (f Filter) Resolve(ctx context.Context, q sqlx.QueryerContext) (Filter, error) {
	if f.ReportsOf == "" || f.team != nil {
		return f, nil
	}
	team, err := Reports(ctx, q, f.ReportsOf)
	f.team = team
	return f, err
}

// ready checks and resolves f for a query.
func (f Filter) ready(ctx context.Context, q sqlx.QueryerContext) (Filter, error) {
	if err := f.Check(); err != nil {
		return f, err
	}
	return f.Resolve(ctx, q)
}

// taskConds are f's conditions on open tasks t; ok is false when f keeps
// no task at all.
func (f Filter) taskConds(args *sqlArgs) (conds []string, ok bool) {
	conds = []string{"t.status = 'open'"}
	if f.Process != "" {
		p, _ := LookupProcess(f.Process)
		if len(p.TaskPrefixes) == 0 {
			return nil, false
		}
		// The expression an index on open tasks by process would use
		// (schema/0020_dashboard_indexes.sql).
		conds = append(conds, "split_part(t.parent_ref, '/', 1) = ANY("+args.add(pq.Array(p.TaskPrefixes))+")")
	}
	if f.Person != "" {
		conds = append(conds, "t.assignee_id = "+args.add(f.Person))
	}
	if f.Control != "" {
		// @>, not = ANY: the GIN index on control_ids serves only @>.
		conds = append(conds, "t.control_ids @> ARRAY["+args.add(f.Control)+"::text]")
	}
	if f.ReportsOf != "" {
		conds = append(conds, "t.assignee_id = ANY("+args.add(pq.Array(f.team))+")")
	}
	return conds, true
}

// assignmentConds are f's conditions on pending assignments a of campaigns
// c; ok is false when f keeps none.
func (f Filter) assignmentConds(args *sqlArgs) (conds []string, ok bool) {
	conds = []string{"a.status = 'pending'"}
	if f.Process != "" {
		p, _ := LookupProcess(f.Process)
		if p.CampaignKind == "" {
			return nil, false
		}
		conds = append(conds, "c.kind = "+args.add(p.CampaignKind))
	}
	if f.Person != "" {
		conds = append(conds, "a.person_id = "+args.add(f.Person))
	}
	if f.Control != "" {
		conds = append(conds, "c.control_ids @> ARRAY["+args.add(f.Control)+"::text]")
	}
	if f.ReportsOf != "" {
		conds = append(conds, "a.person_id = ANY("+args.add(pq.Array(f.team))+")")
	}
	return conds, true
}
