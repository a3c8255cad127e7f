package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// AnnualRun is one run of a yearly process (DESIGN §3: the annual policy
// review and the annual risk assessment, "one per year from a schedule").
type AnnualRun struct {
	ID        string     `db:"id"`
	Status    string     `db:"status"`
	Round     int        `db:"round"`
	OwnerID   string     `db:"owner_id"`
	OwnerName string     `db:"owner_name"`
	Created   time.Time  `db:"created_at"`
	Finished  *time.Time `db:"finished_at"` // signed off; nil while running
	// OpenTasks are its human tasks still open, Overdue of them past due.
	OpenTasks int `db:"open_tasks"`
	Overdue   int `db:"overdue"`
}

// AnnualState is a yearly process's recent runs and whether one was
// finished within the last year.
type AnnualState struct {
	Process string
	Runs    []AnnualRun
	// DoneThisYear: a run finished within AnnualWindow of now.
	DoneThisYear bool
}

// AnnualWindow is how far back a yearly process's runs are shown, and how
// recent a finished one must be for the year to count as done.
const AnnualWindow = 366 * 24 * time.Hour

// AnnualQuery answers one yearly process's state at now.
type AnnualQuery func(ctx context.Context, q sqlx.QueryerContext, now time.Time) (AnnualState, error)

// AnnualQueries are the yearly processes the dashboard shows, in order; a
// yearly process adds its AnnualQuery here and its section appears.
var AnnualQueries = []AnnualQuery{PolicyReviewState, RiskAssessmentState}

// Annual is every AnnualQueries' state at now.
func Annual(ctx context.Context, q sqlx.QueryerContext, now time.Time) ([]AnnualState, error) {
	out := make([]AnnualState, 0, len(AnnualQueries))
	for _, query := range AnnualQueries {
		s, err := query(ctx, q, now)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// PolicyReviewState is the annual policy review's state (policy management
// §6): the reviews of the last AnnualWindow and any still open, newest
// first, each with its open tasks (the committee's reviews, the officer's
// opening and sign-off).
func PolicyReviewState(ctx context.Context, q sqlx.QueryerContext, now time.Time) (AnnualState, error) {
	return annualState(ctx, q, now, "annual-policy-review", "annual policy reviews", `
		SELECT r.id, r.status, r.round, r.officer_id AS owner_id, coalesce(p.name, '') AS owner_name, r.created_at,
		       r.signed_off_at AS finished_at, coalesce(t.open, 0) AS open_tasks, coalesce(t.overdue, 0) AS overdue
		FROM policy_reviews r LEFT JOIN people p ON p.id = r.officer_id
		LEFT JOIN LATERAL (SELECT count(*) AS open, count(*) FILTER (WHERE t.due_at < $1) AS overdue FROM tasks t
		                   WHERE t.status = 'open' AND t.parent_ref = r.id) t ON true
		WHERE r.status <> 'signed-off' OR r.created_at > $1::timestamptz - $2::interval
		ORDER BY r.created_at DESC, r.id`)
}

// RiskAssessmentState is the annual risk assessment's state (controls
// lists A and B: "A formal annual risk assessment is performed and
// documented"): the assessments of the last AnnualWindow and any still open,
// newest first, each with its open tasks (the owners' re-scoring, the
// officer's review and the sign-offs of accepted risks above tolerance).
func RiskAssessmentState(ctx context.Context, q sqlx.QueryerContext, now time.Time) (AnnualState, error) {
	return annualState(ctx, q, now, "annual-risk-assessment", "annual risk assessments", `
		SELECT a.id, a.status, coalesce((SELECT max(round) FROM risk_assessment_scores WHERE assessment_id = a.id), 1) AS round,
		       coalesce(a.signed_off_by, '') AS owner_id, coalesce(p.name, '') AS owner_name, a.opened_at AS created_at,
		       a.signed_off_at AS finished_at, coalesce(t.open, 0) AS open_tasks, coalesce(t.overdue, 0) AS overdue
		FROM risk_assessments a LEFT JOIN people p ON p.id = a.signed_off_by
		LEFT JOIN LATERAL (SELECT count(*) AS open, count(*) FILTER (WHERE t.due_at < $1) AS overdue FROM tasks t
		                   WHERE t.status = 'open' AND t.parent_ref = a.id) t ON true
		WHERE a.status <> 'signed-off' OR a.opened_at > $1::timestamptz - $2::interval
		ORDER BY a.opened_at DESC, a.id`)
}

// annualState runs query, which lists process's runs as AnnualRun rows
// given now ($1) and AnnualWindow ($2), and says whether one finished
// within the window.
func annualState(ctx context.Context, q sqlx.QueryerContext, now time.Time, process, what, query string) (AnnualState, error) {
	s := AnnualState{Process: process}
	if err := sqlx.SelectContext(ctx, q, &s.Runs, query, now, fmt.Sprintf("%d seconds", int(AnnualWindow.Seconds()))); err != nil {
		return AnnualState{}, fmt.Errorf("%s: %w", what, err)
	}
	for _, r := range s.Runs {
		if r.Finished != nil && now.Sub(*r.Finished) < AnnualWindow {
			s.DoneThisYear = true
		}
	}
	return s, nil
}
