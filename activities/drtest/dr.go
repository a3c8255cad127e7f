package drtest

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
)

// OpenInput opens one DR test.
type OpenInput struct {
	ID       string
	Scenario string
	Plan     Plan
	Controls []string
	At       time.Time
}

// DRTestOpen records the test (once) in planning, and answers its controls
// and the systems it may cover.
func (a *Activities) DRTestOpen(ctx context.Context, in OpenInput) (Info, error) {
	if err := CheckPlan(ctx, a.DB, &in.Plan); err != nil {
		return Info{}, err
	}
	info, err := a.info(ctx, Process, in.Plan, in.Controls)
	if err != nil {
		return Info{}, err
	}
	return info, a.write(ctx, audit.Entry{Actor: "complyflow", Action: "dr-test.opened", Subject: in.ID, Controls: info.Controls,
		Detail: map[string]any{"scenario": in.Scenario, "coordinator": in.Plan.CoordinatorID, "plan_owner": in.Plan.PlanOwnerID,
			"targets": in.Plan.Targets, "at": in.At},
		Key: in.ID + "/opened"}, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO dr_tests (id, scenario, coordinator_id, plan_owner_id, status, control_ids, opened_at)
			VALUES ($1, $2, $3, $4, 'planning', $5, $6) ON CONFLICT (id) DO NOTHING`,
			in.ID, in.Scenario, in.Plan.CoordinatorID, in.Plan.PlanOwnerID, pq.Array(nonNil(info.Controls)), in.At)
		if err != nil {
			return fmt.Errorf("open DR test %s: %w", in.ID, err)
		}
		return nil
	})
}

// PlannedInput is the coordinator's plan of the exercise.
type PlannedInput struct {
	ID           string
	Date         time.Time
	Scenario     string
	SystemIDs    []string
	Participants []string
	By           string
	At           time.Time
	Controls     []string
}

// DRTestPlanned records the exercise's date, scenario, systems and
// participants.
func (a *Activities) DRTestPlanned(ctx context.Context, in PlannedInput) error {
	return a.write(ctx, audit.Entry{Actor: in.By, Action: "dr-test.planned", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"date": in.Date.Format(time.DateOnly), "scenario": in.Scenario, "systems": in.SystemIDs,
			"participants": in.Participants, "at": in.At},
		Key: in.ID + "/planned"}, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE dr_tests SET status = 'scheduled', exercise_date = $2, scenario = $3, participants = $4,
			planned_by = $5 WHERE id = $1 AND status = 'planning'`,
			in.ID, in.Date, in.Scenario, pq.Array(nonNil(in.Participants)), in.By)
		if err != nil {
			return fmt.Errorf("record the plan of %s: %w", in.ID, err)
		}
		return nil
	})
}

// SystemResult is what one system's recovery achieved.
type SystemResult struct {
	SystemID    string
	RTOAchieved time.Duration
	RPOAchieved time.Duration
	Integrity   bool
}

// Measured is a system's result against its targets.
type Measured struct {
	SystemResult
	RTOTarget, RPOTarget time.Duration
	RTOMet, RPOMet       bool
}

// Finding is one follow-up of a test: what, whose, by when; Kind is
// "finding" or "plan-update"; TaskID is its follow-up task.
type Finding struct {
	N       int
	Kind    string
	Title   string
	OwnerID string
	Due     time.Time
	TaskID  string
}

// ResultsInput is the exercise's results.
type ResultsInput struct {
	ID       string
	Plan     Plan
	Systems  []SystemResult
	Passed   bool
	Notes    string
	Findings []Finding
	By       string
	At       time.Time
	Controls []string
}

// DRTestResults records each system's recovery against its target, the
// outcome and the findings (their follow-up tasks open), and answers the
// measurements.
func (a *Activities) DRTestResults(ctx context.Context, in ResultsInput) ([]Measured, error) {
	var systems []System
	if err := a.DB.SelectContext(ctx, &systems, `SELECT id, name, owner_id, criticality FROM systems WHERE id = ANY ($1)`,
		pq.Array(systemIDs(in.Systems))); err != nil {
		return nil, fmt.Errorf("systems of %s: %w", in.ID, err)
	}
	byID := map[string]System{}
	for _, s := range systems {
		byID[s.ID] = s
	}
	out := make([]Measured, len(in.Systems))
	for i, r := range in.Systems {
		rto, rpo, ok := Target(in.Plan, byID[r.SystemID])
		if !ok {
			return nil, fmt.Errorf("%s: system %s has no recovery target", in.ID, r.SystemID)
		}
		out[i] = Measured{SystemResult: r, RTOTarget: rto, RPOTarget: rpo, RTOMet: r.RTOAchieved <= rto, RPOMet: r.RPOAchieved <= rpo}
	}
	status := StatusFollowUps
	if len(in.Findings) == 0 {
		status = StatusClosed
	}
	err := a.write(ctx, audit.Entry{Actor: in.By, Action: "dr-test.results", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"passed": in.Passed, "systems": out, "findings": in.Findings, "notes": in.Notes, "at": in.At},
		Key:    in.ID + "/results"}, func(tx *sqlx.Tx) error {
		var closedAt *time.Time
		if status == StatusClosed {
			closedAt = &in.At
		}
		res, err := tx.ExecContext(ctx, `UPDATE dr_tests SET status = $2, passed = $3, results_by = $4, results_at = $5, notes = $6, closed_at = $7
			WHERE id = $1 AND status = 'scheduled'`, in.ID, status, in.Passed, in.By, in.At, in.Notes, closedAt)
		if err != nil {
			return fmt.Errorf("record the results of %s: %w", in.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // recorded by an earlier attempt
		}
		for _, m := range out {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dr_test_systems (test_id, system_id, rto_target, rpo_target, rto_achieved, rpo_achieved,
					rto_met, rpo_met, integrity_checked, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				in.ID, m.SystemID, interval(m.RTOTarget), interval(m.RPOTarget), interval(m.RTOAchieved), interval(m.RPOAchieved),
				m.RTOMet, m.RPOMet, m.Integrity, in.At); err != nil {
				return fmt.Errorf("record %s of %s: %w", m.SystemID, in.ID, err)
			}
		}
		for _, f := range in.Findings {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dr_test_findings (test_id, n, kind, title, owner_id, due, task_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, in.ID, f.N, f.Kind, f.Title, f.OwnerID, f.Due, f.TaskID); err != nil {
				return fmt.Errorf("record finding %d of %s: %w", f.N, in.ID, err)
			}
		}
		return nil
	})
	return out, err
}

// ClosedInput closes one finding of a test.
type ClosedInput struct {
	ID       string
	N        int
	TaskID   string
	By       string
	At       time.Time
	Controls []string
}

// DRTestFindingClosed records a finding's follow-up done.
func (a *Activities) DRTestFindingClosed(ctx context.Context, in ClosedInput) error {
	return a.write(ctx, audit.Entry{Actor: in.By, Action: "dr-test.finding-closed", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"finding": in.N, "task": in.TaskID, "at": in.At},
		Key:    fmt.Sprintf("%s/finding/%d/closed", in.ID, in.N)}, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE dr_test_findings SET closed_by = $3, closed_at = $4
			WHERE test_id = $1 AND n = $2 AND closed_at IS NULL`, in.ID, in.N, in.By, in.At)
		if err != nil {
			return fmt.Errorf("close finding %d of %s: %w", in.N, in.ID, err)
		}
		return nil
	})
}

// CloseInput closes a test whose follow-ups are all done.
type CloseInput struct {
	ID       string
	At       time.Time
	Controls []string
}

// DRTestClose records the test closed.
func (a *Activities) DRTestClose(ctx context.Context, in CloseInput) error {
	return a.write(ctx, audit.Entry{Actor: "complyflow", Action: "dr-test.closed", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"at": in.At}, Key: in.ID + "/closed"}, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE dr_tests SET status = 'closed', closed_at = $2 WHERE id = $1 AND closed_at IS NULL`, in.ID, in.At)
		if err != nil {
			return fmt.Errorf("close %s: %w", in.ID, err)
		}
		return nil
	})
}

func systemIDs(rs []SystemResult) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.SystemID
	}
	return ids
}

// interval is a duration as Postgres reads an interval.
func interval(d time.Duration) string { return fmt.Sprintf("%d seconds", int64(d/time.Second)) }
