package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// LateRemoval is an offboarding's access removal that missed its deadline
// (controls lists A and B: access is removed upon termination): removed
// after it, or still not removed when it has passed.
type LateRemoval struct {
	RunID      string    `db:"run_id"`
	PersonID   string    `db:"person_id"`
	PersonName string    `db:"person_name"`
	SystemID   string    `db:"system_id"`
	SystemName string    `db:"system_name"`
	OwnerID    string    `db:"owner_id"`
	Deadline   time.Time `db:"deadline"`
	// RemovedAt is nil while the access is still there.
	RemovedAt *time.Time `db:"removed_at"`
	RemovedBy string     `db:"removed_by"`
}

// RecentlyLate is how long a removal done late stays on the dashboard
// once its offboarding has closed.
const RecentlyLate = 90 * 24 * time.Hour

// LateRemovals lists, most overdue first, the removals still waiting past
// their deadline in open offboardings, and those done late in open ones or
// within RecentlyLate of now. A waiting removal's systems are the plan the
// offboarding started with (its "offboarding.started" audit entry) and its
// deadline is the workflow's: 00:00 UTC after the last day plus the
// program's deadline for the system's criticality.
func LateRemovals(ctx context.Context, q sqlx.QueryerContext, now time.Time) ([]LateRemoval, error) {
	var out []LateRemoval
	err := sqlx.SelectContext(ctx, q, &out, `
		SELECT o.run_id, o.person_id, coalesce(pp.name, '') AS person_name, r.system_id, s.name AS system_name, s.owner_id,
		       r.deadline, r.removed_at, r.removed_by
		FROM offboarding_removals r JOIN offboardings o ON o.run_id = r.run_id JOIN systems s ON s.id = r.system_id
		LEFT JOIN people pp ON pp.id = o.person_id
		WHERE NOT r.met AND (o.status = 'open' OR r.removed_at > $1::timestamptz - $2::interval)
		UNION ALL
		SELECT o.run_id, o.person_id, coalesce(pp.name, ''), s.id, s.name, s.owner_id,
		       ((o.last_day + 1)::timestamp AT TIME ZONE 'UTC') + d.deadline_after, NULL, ''
		FROM offboardings o
		CROSS JOIN LATERAL (SELECT al.detail -> 'systems' AS systems FROM audit_log al
		                    WHERE al.subject = o.workflow_id AND al.action = 'offboarding.started' AND al.detail ->> 'run' = o.run_id
		                    LIMIT 1) plan
		CROSS JOIN LATERAL jsonb_array_elements_text(plan.systems) AS sys(id)
		JOIN systems s ON s.id = sys.id JOIN offboarding_deadlines d ON d.criticality = s.criticality
		LEFT JOIN people pp ON pp.id = o.person_id
		WHERE o.status = 'open'
		  AND NOT EXISTS (SELECT FROM offboarding_removals r WHERE r.run_id = o.run_id AND r.system_id = s.id)
		  AND ((o.last_day + 1)::timestamp AT TIME ZONE 'UTC') + d.deadline_after < $1
		ORDER BY deadline, run_id, system_id`, now, fmt.Sprintf("%d seconds", int(RecentlyLate.Seconds())))
	if err != nil {
		return nil, fmt.Errorf("late removals: %w", err)
	}
	return out, nil
}
