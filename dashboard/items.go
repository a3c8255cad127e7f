package dashboard

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The kinds of open item.
const (
	KindTask       = "task"       // a human task (tasks)
	KindAssignment = "assignment" // a person's pending campaign assignment (assignments)
)

// Item is one open item.
type Item struct {
	Kind string `db:"kind"`
	// ID is the task's ID, or the assignment's campaign ID.
	ID string `db:"id"`
	// Person is the assignment's person; empty for a task.
	Person       string         `db:"person"`
	Title        string         `db:"title"`
	Ref          string         `db:"ref"` // the task's parent workflow, or the campaign's kind
	AssigneeID   string         `db:"assignee_id"`
	AssigneeName string         `db:"assignee_name"`
	Due          time.Time      `db:"due_at"`
	Controls     pq.StringArray `db:"control_ids"`
	// Escalations is how many escalation steps were taken: a task's
	// "escalated" events, an assignment's escalated count.
	Escalations int `db:"escalations"`

	Process string `db:"-"` // a Processes name
	Overdue bool   `db:"-"` // due before now
}

// Escalated says whether the item was escalated at least once.
func (i Item) Escalated() bool { return i.Escalations > 0 }

// cursor is where a page ending at i ends.
func (i Item) cursor() Cursor { return Cursor{Due: i.Due, Kind: i.Kind, ID: i.ID, Person: i.Person} }

// Page is one page of open items, oldest due first; Next is where the next
// page starts, nil on the last.
type Page struct {
	Items []Item
	Next  *Cursor
}

// MaxPage is the most items a page holds.
const MaxPage = 200

// OpenItems is a page of at most limit open items kept by f, after the
// cursor (nil: the first page), soonest due first (so the most overdue
// first). Each branch reads its rows in index order (open tasks by due
// date; pending assignments) and stops at the page's size; only the page's
// rows are then joined to names and escalations.
func OpenItems(ctx context.Context, q sqlx.QueryerContext, f Filter, after *Cursor, limit int, now time.Time) (Page, error) {
	f, err := f.ready(ctx, q)
	if err != nil {
		return Page{}, err
	}
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	var args sqlArgs
	n := args.add(limit + 1)
	var branches []string
	if conds, ok := f.taskConds(&args); ok {
		if after != nil {
			d := args.add(after.Due)
			if after.Kind == KindTask {
				conds = append(conds, "t.due_at >= "+d, "(t.due_at > "+d+" OR t.id > "+args.add(after.ID)+")")
			} else { // assignments sort first at one due time: every task at it is still to come
				conds = append(conds, "t.due_at >= "+d)
			}
		}
		branches = append(branches, `(SELECT 'task' AS kind, t.id, '' AS person, t.subject AS title, t.parent_ref AS ref,
			t.assignee_id, t.due_at, t.control_ids, -1 AS escalations
		FROM tasks t WHERE `+strings.Join(conds, " AND ")+`
		ORDER BY t.due_at, t.id LIMIT `+n+`)`)
	}
	if conds, ok := f.assignmentConds(&args); ok {
		if after != nil {
			d := args.add(after.Due)
			if after.Kind == KindAssignment {
				conds = append(conds, "a.due_at >= "+d,
					"(a.due_at > "+d+" OR (a.campaign_id, a.person_id) > ("+args.add(after.ID)+", "+args.add(after.Person)+"))")
			} else {
				conds = append(conds, "a.due_at > "+d)
			}
		}
		branches = append(branches, `(SELECT 'assignment' AS kind, a.campaign_id AS id, a.person_id AS person, c.title, c.kind AS ref,
			a.person_id AS assignee_id, a.due_at, c.control_ids, a.escalated AS escalations
		FROM assignments a JOIN campaigns c ON c.id = a.campaign_id WHERE `+strings.Join(conds, " AND ")+`
		ORDER BY a.due_at, a.campaign_id, a.person_id LIMIT `+n+`)`)
	}
	page := `page AS (SELECT * FROM (` + strings.Join(branches, "\nUNION ALL\n") + `) u
		ORDER BY due_at, kind, id, person LIMIT ` + n + `)`
	query := `WITH ` + page + `
		SELECT page.kind, page.id, page.person, page.title, page.ref, page.assignee_id, coalesce(p.name, '') AS assignee_name,
		       page.due_at, page.control_ids,
		       CASE WHEN page.kind = 'task' THEN (SELECT count(*) FROM task_events e
		                                          WHERE e.task_id = page.id AND e.event_key LIKE 'escalated/%')
		            ELSE page.escalations END AS escalations
		FROM page LEFT JOIN people p ON p.id = page.assignee_id
		ORDER BY page.due_at, page.kind, page.id, page.person`
	var items []Item
	if err := sqlx.SelectContext(ctx, q, &items, query, args...); err != nil {
		return Page{}, fmt.Errorf("open items: %w", err)
	}
	var out Page
	if len(items) > limit {
		items = items[:limit]
		c := items[limit-1].cursor()
		out.Next = &c
	}
	for i := range items {
		it := &items[i]
		if it.Kind == KindTask {
			it.Process = processOfTask(it.Ref)
		} else {
			it.Process = processOfCampaign(it.Ref)
		}
		it.Overdue = it.Due.Before(now)
	}
	out.Items = items
	return out, nil
}
