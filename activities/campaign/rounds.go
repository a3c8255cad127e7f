package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
)

// CloseLeaversInput names a campaign whose leavers to close.
type CloseLeaversInput struct {
	CampaignID string
	Controls   []string
	At         time.Time // the workflow's time: who has left by then
}

// CloseLeavers closes as "left" the open assignments of people whose end
// date has passed (issue 11 item 7): they are no longer reminded or
// escalated, and the audit log names each. It returns how many it closed.
func (a *Activities) CloseLeavers(ctx context.Context, in CloseLeaversInput) (int, error) {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var left []string
	if err := tx.SelectContext(ctx, &left, `
		UPDATE assignments a SET status = 'left'
		FROM people p
		WHERE p.id = a.person_id AND a.campaign_id = $1 AND a.status = 'pending'
		  AND p.end_date IS NOT NULL AND p.end_date <= $2::date
		RETURNING a.person_id`, in.CampaignID, day(in.At)); err != nil {
		return 0, err
	}
	if len(left) > 0 {
		slices.Sort(left)
		sum := sha256.Sum256([]byte(strings.Join(left, "\n")))
		if err := audit.Write(ctx, tx, audit.Entry{Actor: "complyflow", Action: "campaign.left", Subject: in.CampaignID, Controls: in.Controls,
			Key:    "campaign/" + in.CampaignID + "/left/" + hex.EncodeToString(sum[:8]),
			Detail: map[string]any{"people": left}}); err != nil {
			return 0, err
		}
	}
	return len(left), tx.Commit()
}

// Counts is a campaign's progress, read from its records (issue 11 item 2).
type Counts struct {
	Assigned  int `json:"assigned"`
	Notified  int `json:"notified"` // people sent the first message on some channel
	Completed int `json:"completed"`
	Pending   int `json:"pending"`
	Overdue   int `json:"overdue"` // pending past their due date
	Escalated int `json:"escalated"`
	Left      int `json:"left"`
	// NotifiedBy counts the people notified on each channel.
	NotifiedBy map[string]int `json:"notified_by"`
}

// CountsOf reads a campaign's counts, overdue as of at. The portal records
// completions straight to Postgres, so these are always current; the
// workflow's status query carries the same counts as of its last round.
func CountsOf(ctx context.Context, db sqlx.QueryerContext, campaignID string, at time.Time) (Counts, error) {
	var c Counts
	if err := sqlx.GetContext(ctx, db, &c, `
		SELECT count(*) AS assigned,
			count(*) FILTER (WHERE status = 'completed') AS completed,
			count(*) FILTER (WHERE status = 'pending') AS pending,
			count(*) FILTER (WHERE status = 'pending' AND due_at < $2) AS overdue,
			count(*) FILTER (WHERE escalated > 0) AS escalated,
			count(*) FILTER (WHERE status = 'left') AS left
		FROM assignments WHERE campaign_id = $1`, campaignID, at); err != nil {
		return Counts{}, err
	}
	rows, err := db.QueryxContext(ctx, `
		SELECT channel, count(DISTINCT recipient_id) FROM notifications
		WHERE task_id = $1 AND purpose = $2 AND status = 'sent' GROUP BY ROLLUP (channel)`, campaignID, PurposeAssigned)
	if err != nil {
		return Counts{}, err
	}
	defer rows.Close()
	c.NotifiedBy = map[string]int{}
	for rows.Next() {
		var channel *string
		var n int
		if err := rows.Scan(&channel, &n); err != nil {
			return Counts{}, err
		}
		if channel == nil {
			c.Notified = n
		} else {
			c.NotifiedBy[*channel] = n
		}
	}
	return c, rows.Err()
}

// CountsInput names a campaign to count, as of the workflow's time.
type CountsInput struct {
	CampaignID string
	At         time.Time
}

// Counts is CountsOf as an activity, for the workflow's status.
func (a *Activities) Counts(ctx context.Context, in CountsInput) (Counts, error) {
	return CountsOf(ctx, a.DB, in.CampaignID, in.At)
}

// CloseInput names a campaign to close, with its final counts.
type CloseInput struct {
	CampaignID string
	Controls   []string
	Counts     Counts
	At         time.Time
}

// CloseCampaign records that the campaign is over: nobody is pending.
func (a *Activities) CloseCampaign(ctx context.Context, in CloseInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL`, in.CampaignID, in.At); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: "complyflow", Action: "campaign.closed", Subject: in.CampaignID, Controls: in.Controls,
		Key: "campaign/" + in.CampaignID + "/closed", Detail: in.Counts}); err != nil {
		return err
	}
	return tx.Commit()
}

// LeaverInput names a person who has left, and what says so.
type LeaverInput struct {
	PersonID string
	By       string // e.g. the offboarding's workflow ID
	Reason   string
}

// CloseLeaverAssignments closes the person's pending assignments in every
// campaign as "left", at once, without waiting for each campaign's next
// round or for the directory's end date (issue 13 item 4: campaigns mark
// them left). Each campaign's audit entry names the person and why.
func (a *Activities) CloseLeaverAssignments(ctx context.Context, in LeaverInput) (int, error) {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var closed []struct {
		CampaignID string         `db:"campaign_id"`
		Controls   pq.StringArray `db:"control_ids"`
	}
	if err := tx.SelectContext(ctx, &closed, `
		WITH left_ AS (
			UPDATE assignments SET status = 'left' WHERE person_id = $1 AND status = 'pending' RETURNING campaign_id)
		SELECT l.campaign_id, c.control_ids FROM left_ l JOIN campaigns c ON c.id = l.campaign_id ORDER BY 1`, in.PersonID); err != nil {
		return 0, err
	}
	for _, c := range closed {
		if err := audit.Write(ctx, tx, audit.Entry{Actor: in.By, Action: "campaign.left", Subject: c.CampaignID, Controls: c.Controls,
			Key:    "campaign/" + c.CampaignID + "/left/" + in.PersonID,
			Detail: map[string]any{"people": []string{in.PersonID}, "reason": in.Reason}}); err != nil {
			return 0, err
		}
	}
	return len(closed), tx.Commit()
}
