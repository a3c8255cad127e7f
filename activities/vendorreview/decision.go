package vendorreview

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
)

// Decisions a reviewer may take, as vendor_review_decisions.decision spells them.
const (
	DecisionAccept          = "accept"
	DecisionAcceptFollowUps = "accept-with-follow-ups"
	DecisionReject          = "reject"
)

// Findings are what the reviewer recorded about the report.
type Findings struct {
	ReportType           string
	PeriodStart          time.Time
	PeriodEnd            time.Time
	AuditFirm            string
	Opinion              string
	Exceptions           string
	CUECs                []CUEC
	BridgeLetterNeeded   *bool
	BridgeLetterReceived *bool
}

// CUEC is a complementary user-entity control the report makes ours,
// mapped to the program's control that operates it.
type CUEC struct {
	Description string
	ControlID   string
}

// FollowUp is work an acceptance leaves open, owned by someone until due.
type FollowUp struct {
	Title   string
	OwnerID string
	Due     time.Time
}

// DecisionInput is the reviewer's answer on one round's report.
type DecisionInput struct {
	ID        string
	Round     int
	TaskID    string
	By        string
	At        time.Time
	Decision  string
	Note      string
	Findings  Findings
	FollowUps []FollowUp
	Controls  []string
}

// DecisionResult is what the decision set going.
type DecisionResult struct {
	// NextRequestAt is when the next cycle is asked for (accepted reports):
	// the period end plus the cycle's cadence, less its lead time.
	NextRequestAt time.Time
	CoverageUntil time.Time
	// FollowUps are the decision's follow-ups, each owner checked: one not
	// in the workforce is replaced by the reviewer, so the work has someone.
	FollowUps []FollowUp
}

// RecordDecision records the decision and its findings (with the CUECs) for
// the round, and moves the cycle on: accepted (with follow-ups open or not)
// with its coverage and next request dated from the period end, or back to
// requested for the next round.
func (a *Activities) RecordDecision(ctx context.Context, in DecisionInput) (DecisionResult, error) {
	findings, err := json.Marshal(in.Findings)
	if err != nil {
		return DecisionResult{}, err
	}
	res := DecisionResult{FollowUps: make([]FollowUp, len(in.FollowUps))}
	for i, f := range in.FollowUps {
		if found, active, err := directory.PersonActive(ctx, a.DB, f.OwnerID); err != nil {
			return DecisionResult{}, err
		} else if !found || !active {
			f.OwnerID = in.By
		}
		res.FollowUps[i] = f
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return DecisionResult{}, err
	}
	defer tx.Rollback()
	ins, err := tx.ExecContext(ctx, `INSERT INTO vendor_review_decisions (review_id, round, task_id, decided_by, decision, note, findings, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		in.ID, in.Round, in.TaskID, in.By, in.Decision, in.Note, findings, in.At)
	if err != nil {
		return DecisionResult{}, fmt.Errorf("record decision on %s: %w", in.ID, err)
	}
	if n, _ := ins.RowsAffected(); n == 1 {
		for i, c := range in.Findings.CUECs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vendor_review_cuecs (review_id, round, position, description, control_id)
				VALUES ($1, $2, $3, $4, $5)`, in.ID, in.Round, i+1, c.Description, c.ControlID); err != nil {
				return DecisionResult{}, fmt.Errorf("record CUEC %d of %s: %w", i+1, in.ID, err)
			}
		}
	}
	status := StatusAccepted
	switch in.Decision {
	case DecisionReject:
		status = StatusRequested
	case DecisionAcceptFollowUps:
		if len(in.FollowUps) > 0 {
			status = StatusFollowUps
		}
	}
	f := in.Findings
	var coverage, next *time.Time
	if in.Decision != DecisionReject {
		var months, days int
		if err := tx.QueryRowxContext(ctx, `SELECT cadence_months, request_before_days FROM vendor_reviews WHERE id = $1`, in.ID).
			Scan(&months, &days); err != nil {
			return DecisionResult{}, fmt.Errorf("date the next cycle of %s: %w", in.ID, err)
		}
		c, n := NextCycle(f.PeriodEnd, months, days)
		coverage, next = &c, &n
		res.CoverageUntil, res.NextRequestAt = c.UTC(), n.UTC()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE vendor_reviews SET status = $2, round = CASE WHEN $2 = 'requested' THEN $3 + 1 ELSE $3 END,
			report_type = $4, period_start = $5, period_end = $6, audit_firm = $7, opinion = $8, exceptions = $9,
			bridge_letter_needed = $10, bridge_letter_received = $11, decision = $12, decision_note = $13, decided_by = $14,
			decided_at = $15, coverage_until = $16, next_request_at = $17, updated_at = now()
		WHERE id = $1`, in.ID, status, in.Round, f.ReportType, f.PeriodStart, f.PeriodEnd, f.AuditFirm, f.Opinion, f.Exceptions,
		f.BridgeLetterNeeded, f.BridgeLetterReceived, in.Decision, in.Note, in.By, in.At, coverage, next); err != nil {
		return DecisionResult{}, fmt.Errorf("record decision on %s: %w", in.ID, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: in.By, Action: "vendor-review.decided", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "task": in.TaskID, "decision": in.Decision, "note": in.Note,
			"findings": json.RawMessage(findings), "follow_ups": res.FollowUps, "next_request_at": next},
		Key: fmt.Sprintf("%s/decided/%d", in.ID, in.Round)}); err != nil {
		return DecisionResult{}, err
	}
	return res, tx.Commit()
}

// ClosedInput marks a cycle's follow-ups all done.
type ClosedInput struct {
	ID       string
	Round    int
	At       time.Time
	Controls []string
}

// RecordFollowUpsClosed moves a cycle accepted with follow-ups to accepted
// once every follow-up task is done.
func (a *Activities) RecordFollowUpsClosed(ctx context.Context, in ClosedInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE vendor_reviews SET status = 'accepted', updated_at = now() WHERE id = $1 AND status = 'follow-ups'`,
		in.ID); err != nil {
		return fmt.Errorf("close follow-ups of %s: %w", in.ID, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: "complyflow", Action: "vendor-review.follow-ups-closed", Subject: in.ID,
		Controls: in.Controls, Detail: map[string]any{"round": in.Round, "at": in.At},
		Key: fmt.Sprintf("%s/follow-ups-closed/%d", in.ID, in.Round)}); err != nil {
		return err
	}
	return tx.Commit()
}

// NextCycle dates a report's coverage and the next request from its period
// end: covered until the period end plus the cadence, asked for again
// requestBeforeDays before that, so coverage has no gap (issue 12 item 6).
func NextCycle(periodEnd time.Time, cadenceMonths, requestBeforeDays int) (coverageUntil, nextRequest time.Time) {
	y, m, d := periodEnd.Date()
	coverageUntil = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, cadenceMonths, 0)
	return coverageUntil, coverageUntil.AddDate(0, 0, -requestBeforeDays)
}
