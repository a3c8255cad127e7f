package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Tally is how many items are open, and of those overdue and escalated.
type Tally struct {
	Open      int `db:"open"`
	Overdue   int `db:"overdue"`
	Escalated int `db:"escalated"`
}

func (t *Tally) add(o Tally) {
	t.Open += o.Open
	t.Overdue += o.Overdue
	t.Escalated += o.Escalated
}

// ProcessTally is one process's Tally.
type ProcessTally struct {
	Process string
	Tally
}

// Counts is the open items f keeps, in all and per process (in Processes'
// order, then any other process by name).
type Counts struct {
	Total      Tally
	PerProcess []ProcessTally
}

// CountOpen counts the open items f keeps at now.
func CountOpen(ctx context.Context, q sqlx.QueryerContext, f Filter, now time.Time) (Counts, error) {
	f, err := f.ready(ctx, q)
	if err != nil {
		return Counts{}, err
	}
	var args sqlArgs
	at := args.add(now)
	var branches []string
	if conds, ok := f.taskConds(&args); ok {
		// A task is escalated once its first escalation step is recorded,
		// under the event key "escalated/1" (workflows/humantask); the key
		// is unique per task, so the join adds no rows.
		branches = append(branches, `SELECT 'task' AS kind, split_part(t.parent_ref, '/', 1) AS key, count(*) AS open,
			count(*) FILTER (WHERE t.due_at < `+at+`) AS overdue,
			count(e.task_id) AS escalated
		FROM tasks t LEFT JOIN task_events e ON e.task_id = t.id AND e.event_key = 'escalated/1'
		WHERE `+strings.Join(conds, " AND ")+` GROUP BY 2`)
	}
	if conds, ok := f.assignmentConds(&args); ok {
		branches = append(branches, `SELECT 'assignment' AS kind, c.kind AS key, count(*) AS open,
			count(*) FILTER (WHERE a.due_at < `+at+`) AS overdue, count(*) FILTER (WHERE a.escalated > 0) AS escalated
		FROM assignments a JOIN campaigns c ON c.id = a.campaign_id WHERE `+strings.Join(conds, " AND ")+` GROUP BY 2`)
	}
	var rows []struct {
		Kind string `db:"kind"`
		Key  string `db:"key"`
		Tally
	}
	if err := sqlx.SelectContext(ctx, q, &rows, strings.Join(branches, "\nUNION ALL\n"), args...); err != nil {
		return Counts{}, fmt.Errorf("count open items: %w", err)
	}
	per := map[string]*Tally{}
	var others []string
	for _, r := range rows {
		name := processOfCampaign(r.Key)
		if r.Kind == KindTask {
			name = processOfTask(r.Key)
		}
		if per[name] == nil {
			per[name] = &Tally{}
			if _, known := LookupProcess(name); !known {
				others = append(others, name)
			}
		}
		per[name].add(r.Tally)
	}
	var c Counts
	names := make([]string, 0, len(Processes)+len(others))
	for _, p := range Processes {
		names = append(names, p.Name)
	}
	slices.Sort(others)
	for _, name := range append(names, others...) {
		if t := per[name]; t != nil {
			c.PerProcess = append(c.PerProcess, ProcessTally{Process: name, Tally: *t})
			c.Total.add(*t)
		}
	}
	return c, nil
}
