package offboarding

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/refusal"
)

// Removal outcomes, as offboarding_removals.outcome spells them.
const (
	OutcomeRemoved   = "removed"
	OutcomeNoAccount = "no_account"
)

// RemovalInput is one system's access removal, confirmed: the evidence
// controls lists A and B ask for (who removed what, when, how).
type RemovalInput struct {
	RunID      string
	WorkflowID string
	PersonID   string
	SystemID   string
	Method     string // manual, webhook, scim: how it was finally removed
	Outcome    string
	By         string // a person ID, or "connector:<system>"
	At         time.Time
	Deadline   time.Time
	// The connector's answer: HTTP status and the SHA-256 of its body
	// (zero and empty for a manual removal).
	ConnectorStatus int
	BodySHA256      string
	// FallbackReason says why a connector's removal became a task.
	FallbackReason string
	TaskID         string
	Note           string
	Controls       []string
}

// RecordRemoval records the removal and its audit entry once.
func (a *Activities) RecordRemoval(ctx context.Context, in RemovalInput) error {
	if in.Outcome != OutcomeRemoved && in.Outcome != OutcomeNoAccount {
		return refusal.New("removal outcome %q is not removed or no_account", in.Outcome)
	}
	met := !in.At.After(in.Deadline)
	var status any
	if in.ConnectorStatus != 0 {
		status = in.ConnectorStatus
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO offboarding_removals (run_id, system_id, method, outcome, removed_by, removed_at,
			deadline, met, connector_status, connector_body_sha256, fallback_reason, task_id, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (run_id, system_id) DO NOTHING`,
		in.RunID, in.SystemID, in.Method, in.Outcome, in.By, in.At, in.Deadline, met, status, in.BodySHA256,
		in.FallbackReason, in.TaskID, in.Note); err != nil {
		return fmt.Errorf("record removal of %s from %s: %w", in.PersonID, in.SystemID, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: in.By, Action: "offboarding.access-removed", Subject: in.WorkflowID, Controls: in.Controls,
		Detail: map[string]any{"run": in.RunID, "person": in.PersonID, "system": in.SystemID, "method": in.Method, "outcome": in.Outcome,
			"at": in.At, "deadline": in.Deadline, "met": met, "connector_status": status, "body_sha256": in.BodySHA256,
			"fallback_reason": in.FallbackReason, "task": in.TaskID, "note": in.Note},
		Key: "offboarding/" + in.RunID + "/removed/" + in.SystemID}); err != nil {
		return err
	}
	return tx.Commit()
}

// LeaverTasksInput asks for the leaver's open tasks outside this offboarding.
type LeaverTasksInput struct {
	PersonID   string
	WorkflowID string // the offboarding's own tasks are left out
}

// LeaverTasks lists the open tasks assigned to the person, for the
// offboarding to hand to their manager (each task records it).
func (a *Activities) LeaverTasks(ctx context.Context, in LeaverTasksInput) ([]string, error) {
	var ids []string
	err := sqlx.SelectContext(ctx, a.DB, &ids, `SELECT id FROM tasks WHERE assignee_id = $1 AND status = 'open' AND parent_ref <> $2 ORDER BY id`,
		in.PersonID, in.WorkflowID)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %s: %w", in.PersonID, err)
	}
	return ids, nil
}
