package drtest

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
)

// RestoreCandidatesInput asks which systems a backup-restore test may pick.
type RestoreCandidatesInput struct {
	Plan     Plan
	Controls []string
}

// BackupRestoreCandidates answers the systems with a recovery target, in a
// stable order (the workflow picks one of them at random), and the controls.
func (a *Activities) BackupRestoreCandidates(ctx context.Context, in RestoreCandidatesInput) (Info, error) {
	if err := CheckPlan(ctx, a.DB, &in.Plan); err != nil {
		return Info{}, err
	}
	return a.info(ctx, ProcessBackupRestore, in.Plan, in.Controls)
}

// PickedInput records the system a backup-restore test picked.
type PickedInput struct {
	ID         string
	Candidates []string
	SystemID   string
	AssigneeID string
	At         time.Time
	Controls   []string
}

// BackupRestorePicked records the pick (once).
func (a *Activities) BackupRestorePicked(ctx context.Context, in PickedInput) error {
	return a.write(ctx, audit.Entry{Actor: "complyflow", Action: "backup-restore-test.picked", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"system": in.SystemID, "candidates": in.Candidates, "assignee": in.AssigneeID, "at": in.At},
		Key:    in.ID + "/picked"}, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO backup_restore_tests (id, candidates, system_id, assignee_id, picked_at, control_ids)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
			in.ID, pq.Array(in.Candidates), in.SystemID, in.AssigneeID, in.At, pq.Array(nonNil(in.Controls)))
		if err != nil {
			return fmt.Errorf("record the pick of %s: %w", in.ID, err)
		}
		return nil
	})
}

// RestoredInput is the restore as the person who did it recorded it.
type RestoredInput struct {
	ID        string
	What      string // the backup restored
	Where     string // the environment restored into
	Took      time.Duration
	Integrity bool
	Passed    bool
	Notes     string
	// FollowUpTask is a failed restore's follow-up, to the system's owner.
	FollowUpTask string
	By           string
	At           time.Time
	Controls     []string
}

// BackupRestoreRecorded records the restore; a passed one closes the test.
func (a *Activities) BackupRestoreRecorded(ctx context.Context, in RestoredInput) error {
	return a.write(ctx, audit.Entry{Actor: in.By, Action: "backup-restore-test.recorded", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"what": in.What, "where": in.Where, "took_seconds": int64(in.Took / time.Second),
			"integrity_checked": in.Integrity, "passed": in.Passed, "notes": in.Notes, "follow_up": in.FollowUpTask, "at": in.At},
		Key: in.ID + "/recorded"}, func(tx *sqlx.Tx) error {
		var closedAt *time.Time
		if in.Passed {
			closedAt = &in.At
		}
		_, err := tx.ExecContext(ctx, `UPDATE backup_restore_tests SET restored_what = $2, restored_where = $3, duration = $4,
				integrity_checked = $5, passed = $6, notes = $7, recorded_by = $8, recorded_at = $9, follow_up_task = $10, closed_at = $11
			WHERE id = $1 AND recorded_at IS NULL`,
			in.ID, in.What, in.Where, interval(in.Took), in.Integrity, in.Passed, in.Notes, in.By, in.At, in.FollowUpTask, closedAt)
		if err != nil {
			return fmt.Errorf("record the restore of %s: %w", in.ID, err)
		}
		return nil
	})
}

// RestoreClosedInput closes a failed restore's follow-up.
type RestoreClosedInput struct {
	ID       string
	By       string
	At       time.Time
	Controls []string
}

// BackupRestoreFollowUpClosed records a failed restore's follow-up done,
// which closes the test.
func (a *Activities) BackupRestoreFollowUpClosed(ctx context.Context, in RestoreClosedInput) error {
	return a.write(ctx, audit.Entry{Actor: in.By, Action: "backup-restore-test.follow-up-closed", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"at": in.At}, Key: in.ID + "/follow-up-closed"}, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE backup_restore_tests SET follow_up_closed_by = $2, closed_at = $3
			WHERE id = $1 AND closed_at IS NULL`, in.ID, in.By, in.At)
		if err != nil {
			return fmt.Errorf("close the follow-up of %s: %w", in.ID, err)
		}
		return nil
	})
}

// Record is one DR test as `starter records dr-tests` shows it.
type Record struct {
	ID           string         `db:"id" json:"id"`
	Scenario     string         `db:"scenario" json:"scenario"`
	Status       string         `db:"status" json:"status"`
	Coordinator  string         `db:"coordinator_id" json:"coordinator"`
	ExerciseDate *time.Time     `db:"exercise_date" json:"exercise_date"`
	Participants pq.StringArray `db:"participants" json:"participants"`
	Passed       *bool          `db:"passed" json:"passed"`
	ResultsBy    string         `db:"results_by" json:"results_by"`
	ClosedAt     *time.Time     `db:"closed_at" json:"closed_at"`
	Systems      []SystemRecord `db:"-" json:"systems"`
	Findings     []FindingRow   `db:"-" json:"findings"`
}

// SystemRecord is one system's recovery against its targets, in seconds.
type SystemRecord struct {
	SystemID    string `db:"system_id" json:"system"`
	RTOTarget   int64  `db:"rto_target" json:"rto_target_seconds"`
	RPOTarget   int64  `db:"rpo_target" json:"rpo_target_seconds"`
	RTOAchieved int64  `db:"rto_achieved" json:"rto_achieved_seconds"`
	RPOAchieved int64  `db:"rpo_achieved" json:"rpo_achieved_seconds"`
	RTOMet      bool   `db:"rto_met" json:"rto_met"`
	RPOMet      bool   `db:"rpo_met" json:"rpo_met"`
	Integrity   bool   `db:"integrity_checked" json:"integrity_checked"`
}

// FindingRow is one finding and its closure.
type FindingRow struct {
	N        int        `db:"n" json:"n"`
	Kind     string     `db:"kind" json:"kind"`
	Title    string     `db:"title" json:"title"`
	OwnerID  string     `db:"owner_id" json:"owner"`
	Due      time.Time  `db:"due" json:"due"`
	TaskID   string     `db:"task_id" json:"task"`
	ClosedBy string     `db:"closed_by" json:"closed_by"`
	ClosedAt *time.Time `db:"closed_at" json:"closed_at"`
}

// Records lists every DR test, newest first, with its systems and findings.
func Records(ctx context.Context, db sqlx.QueryerContext) ([]Record, error) {
	var rs []Record
	if err := sqlx.SelectContext(ctx, db, &rs, `SELECT id, scenario, status, coordinator_id, exercise_date, participants, passed,
		results_by, closed_at FROM dr_tests ORDER BY opened_at DESC, id`); err != nil {
		return nil, fmt.Errorf("list DR tests: %w", err)
	}
	for i := range rs {
		if err := sqlx.SelectContext(ctx, db, &rs[i].Systems, `SELECT system_id,
				extract(epoch FROM rto_target)::bigint AS rto_target, extract(epoch FROM rpo_target)::bigint AS rpo_target,
				extract(epoch FROM rto_achieved)::bigint AS rto_achieved, extract(epoch FROM rpo_achieved)::bigint AS rpo_achieved,
				rto_met, rpo_met, integrity_checked
			FROM dr_test_systems WHERE test_id = $1 ORDER BY system_id`, rs[i].ID); err != nil {
			return nil, fmt.Errorf("systems of %s: %w", rs[i].ID, err)
		}
		if err := sqlx.SelectContext(ctx, db, &rs[i].Findings, `SELECT n, kind, title, owner_id, due, task_id, closed_by, closed_at
			FROM dr_test_findings WHERE test_id = $1 ORDER BY n`, rs[i].ID); err != nil {
			return nil, fmt.Errorf("findings of %s: %w", rs[i].ID, err)
		}
	}
	return rs, nil
}

// RestoreRecord is one backup-restore test as `starter records
// backup-restore-tests` shows it.
type RestoreRecord struct {
	ID               string         `db:"id" json:"id"`
	Candidates       pq.StringArray `db:"candidates" json:"candidates"`
	SystemID         string         `db:"system_id" json:"system"`
	AssigneeID       string         `db:"assignee_id" json:"assignee"`
	PickedAt         time.Time      `db:"picked_at" json:"picked_at"`
	RestoredWhat     string         `db:"restored_what" json:"restored_what"`
	RestoredWhere    string         `db:"restored_where" json:"restored_where"`
	Seconds          *int64         `db:"seconds" json:"duration_seconds"`
	IntegrityChecked *bool          `db:"integrity_checked" json:"integrity_checked"`
	Passed           *bool          `db:"passed" json:"passed"`
	Notes            string         `db:"notes" json:"notes"`
	RecordedBy       string         `db:"recorded_by" json:"recorded_by"`
	FollowUpTask     string         `db:"follow_up_task" json:"follow_up_task"`
	FollowUpClosedBy string         `db:"follow_up_closed_by" json:"follow_up_closed_by"`
	ClosedAt         *time.Time     `db:"closed_at" json:"closed_at"`
}

// RestoreRecords lists every backup-restore test, newest first.
func RestoreRecords(ctx context.Context, db sqlx.QueryerContext) ([]RestoreRecord, error) {
	var rs []RestoreRecord
	if err := sqlx.SelectContext(ctx, db, &rs, `SELECT id, candidates, system_id, assignee_id, picked_at, restored_what, restored_where,
			extract(epoch FROM duration)::bigint AS seconds, integrity_checked, passed, notes, recorded_by, follow_up_task, follow_up_closed_by, closed_at
		FROM backup_restore_tests ORDER BY picked_at DESC, id`); err != nil {
		return nil, fmt.Errorf("list backup-restore tests: %w", err)
	}
	return rs, nil
}
