package dashboard

import (
	"fmt"
	"strings"

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

// reportsCTE is the recursive CTE "reports" of f.ReportsOf's reports, to
// put first in a WITH RECURSIVE; empty without ReportsOf. UNION (not
// UNION ALL) ends it even on a cycle in the directory.
func (f Filter) reportsCTE(args *sqlArgs) string {
	if f.ReportsOf == "" {
		return ""
	}
	return `reports(id) AS (
		SELECT id FROM people WHERE manager_id = ` + args.add(f.ReportsOf) + `
		UNION
		SELECT p.id FROM people p JOIN reports r ON p.manager_id = r.id)`
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
		// (indexes.sql.txt).
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
		conds = append(conds, "t.assignee_id IN (SELECT id FROM reports)")
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
		conds = append(conds, "a.person_id IN (SELECT id FROM reports)")
	}
	return conds, true
}

// with is "WITH RECURSIVE ctes" for the non-empty ctes, or "".
func with(ctes ...string) string {
	var kept []string
	for _, c := range ctes {
		if c != "" {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return ""
	}
	return "WITH RECURSIVE " + strings.Join(kept, ", ") + "\n"
}
