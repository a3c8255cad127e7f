package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// CampaignProgress is how far an acknowledgement or training campaign has
// come (issue 15 item 6: "assigned, completed, overdue").
type CampaignProgress struct {
	ID       string     `db:"id"`
	Title    string     `db:"title"`
	Kind     string     `db:"kind"`
	Due      time.Time  `db:"due_at"`
	ClosedAt *time.Time `db:"closed_at"`
	Assigned int        `db:"assigned"`
	// Completed signed or passed; Left were closed because the person left;
	// Pending still owe it, Overdue of them past their due date.
	Completed int `db:"completed"`
	Left      int `db:"left_"`
	Pending   int `db:"pending"`
	Overdue   int `db:"overdue"`
}

// Percent is the share of the people still expected (assigned, less those
// who left) who completed, 0 to 100, for the progress bar.
func (c CampaignProgress) Percent() int {
	expected := c.Assigned - c.Left
	if expected <= 0 {
		return 100
	}
	return c.Completed * 100 / expected
}

// RecentlyClosed is how long a closed campaign stays on the dashboard.
const RecentlyClosed = 30 * 24 * time.Hour

// Campaigns is the progress of every open campaign and those closed within
// RecentlyClosed of now, soonest due first; with f.ReportsOf, counting only
// that manager's reports (and only campaigns that include one).
func Campaigns(ctx context.Context, q sqlx.QueryerContext, f Filter, now time.Time) ([]CampaignProgress, error) {
	f, err := f.Resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	var args sqlArgs
	at := args.add(now)
	scope := ""
	if f.ReportsOf != "" {
		scope = " AND a.person_id = ANY(" + args.add(pq.Array(f.team)) + ")"
	}
	var out []CampaignProgress
	err = sqlx.SelectContext(ctx, q, &out, `
		SELECT c.id, c.title, c.kind, c.due_at, c.closed_at, count(*) AS assigned,
		       count(*) FILTER (WHERE a.status = 'completed') AS completed,
		       count(*) FILTER (WHERE a.status = 'left') AS left_,
		       count(*) FILTER (WHERE a.status = 'pending') AS pending,
		       count(*) FILTER (WHERE a.status = 'pending' AND a.due_at < `+at+`) AS overdue
		FROM campaigns c JOIN assignments a ON a.campaign_id = c.id`+scope+`
		WHERE c.closed_at IS NULL OR c.closed_at > `+at+`::timestamptz - `+args.add(fmt.Sprintf("%d seconds", int(RecentlyClosed.Seconds())))+`::interval
		GROUP BY c.id ORDER BY c.due_at, c.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("campaign progress: %w", err)
	}
	return out, nil
}
