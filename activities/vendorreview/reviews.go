// Package vendorreview holds the side effects of a vendor review cycle
// (controls list B, Vendor Due Diligence Review: "Vendor SOC 2 reports (or
// equivalent) are collected and reviewed on at least an annual basis"): the
// cycle's record, the request mailed to the vendor's contact with its
// upload link, the upload, the reviewer's findings and decision, and the
// next cycle's date from the report's period end. Every step is written to
// the audit log under the cycle's controls, in the transaction that records it.
package vendorreview

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/refusal"
)

// Process is the name the program file knows vendor reviews by.
const Process = "vendor-review"

// Statuses of a cycle, as vendor_reviews.status spells them.
const (
	StatusRequested = "requested"  // waiting for the vendor's report
	StatusReceived  = "received"   // a report is in, its review open
	StatusFollowUps = "follow-ups" // accepted with follow-ups still open
	StatusAccepted  = "accepted"
)

// Activities records vendor review cycles and mails their requests.
type Activities struct {
	DB      *sqlx.DB
	Mailer  *notify.Mailer
	Links   *links.Signer
	BaseURL string // the portal, e.g. https://comply.example.com
	LinkTTL time.Duration
}

// Vendor is a vendor as the directory holds it.
type Vendor struct {
	ID           string `db:"id"`
	Name         string `db:"name"`
	ContactEmail string `db:"contact_email"`
	OwnerID      string `db:"owner_id"`
	Criticality  string `db:"criticality"`
}

// ContactID is who the vendor's contact is in links and records: an
// outsider, with no account.
func ContactID(vendorID string) string { return "vendor-contact:" + vendorID }

// LookupVendor reads a vendor; an unknown one is a refusal.
func LookupVendor(ctx context.Context, db sqlx.QueryerContext, id string) (Vendor, error) {
	var v Vendor
	err := sqlx.GetContext(ctx, db, &v, `SELECT id, name, contact_email, owner_id, criticality FROM vendors WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Vendor{}, refusal.New("vendor %q is not in the directory (starter import vendors)", id)
	}
	if err != nil {
		return Vendor{}, fmt.Errorf("look up vendor %s: %w", id, err)
	}
	return v, nil
}

// OpenReviewInput opens one cycle.
type OpenReviewInput struct {
	ID                string
	VendorID          string
	Cycle             string
	ReviewerID        string // empty: the vendor's owner
	Controls          []string
	CadenceMonths     int
	RequestBeforeDays int
	At, Due           time.Time
}

// Control is one of the program's controls, for the CUEC mapping.
type Control struct {
	ID    string `db:"id"`
	Title string `db:"title"`
}

// ReviewInfo is what the workflow needs to run the cycle.
type ReviewInfo struct {
	Vendor     Vendor
	ReviewerID string
	Controls   []string  // the controls the cycle evidences
	Program    []Control // every control in force, for CUECs
}

// OpenReview records the cycle (once) and answers the vendor, the reviewer,
// the controls it evidences (the program file's controls naming the process
// when the caller gives none) and every control in force.
func (a *Activities) OpenReview(ctx context.Context, in OpenReviewInput) (ReviewInfo, error) {
	v, err := LookupVendor(ctx, a.DB, in.VendorID)
	if err != nil {
		return ReviewInfo{}, err
	}
	info := ReviewInfo{Vendor: v, ReviewerID: in.ReviewerID, Controls: in.Controls}
	if info.ReviewerID == "" {
		info.ReviewerID = v.OwnerID
	}
	if err := directory.CheckActive(ctx, a.DB, info.ReviewerID); err != nil {
		return ReviewInfo{}, err
	}
	if len(info.Controls) == 0 {
		if info.Controls, err = directory.ControlsFor(ctx, a.DB, Process); err != nil {
			return ReviewInfo{}, err
		}
	}
	if err := a.DB.SelectContext(ctx, &info.Program, `SELECT id, title FROM controls WHERE retired_at IS NULL ORDER BY id`); err != nil {
		return ReviewInfo{}, fmt.Errorf("list controls: %w", err)
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return ReviewInfo{}, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO vendor_reviews (id, vendor_id, cycle, status, requested_at, due_at, reviewer_id,
			control_ids, cadence_months, request_before_days)
		VALUES ($1, $2, $3, 'requested', $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
		in.ID, in.VendorID, in.Cycle, in.At, in.Due, info.ReviewerID, pq.Array(nonNil(info.Controls)), in.CadenceMonths, in.RequestBeforeDays)
	if err != nil {
		return ReviewInfo{}, fmt.Errorf("open vendor review %s: %w", in.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if err := audit.Write(ctx, tx, audit.Entry{Actor: "complyflow", Action: "vendor-review.opened", Subject: in.ID, Controls: info.Controls,
			Detail: map[string]any{"vendor": in.VendorID, "cycle": in.Cycle, "reviewer": info.ReviewerID, "due": in.Due,
				"cadence_months": in.CadenceMonths, "request_before_days": in.RequestBeforeDays},
			Key: in.ID + "/opened"}); err != nil {
			return ReviewInfo{}, err
		}
	}
	return info, tx.Commit()
}

// RoundInput opens another round of a cycle: its report is asked for again.
type RoundInput struct {
	ID       string
	Round    int
	At, Due  time.Time
	Reason   string
	Controls []string
}

// OpenRound records that the cycle asks for its report again, due anew.
func (a *Activities) OpenRound(ctx context.Context, in RoundInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE vendor_reviews SET due_at = $3, updated_at = now()
		WHERE id = $1 AND round = $2 AND status = 'requested'`, in.ID, in.Round, in.Due); err != nil {
		return fmt.Errorf("open round %d of %s: %w", in.Round, in.ID, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: "complyflow", Action: "vendor-review.re-requested", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "due": in.Due, "reason": in.Reason, "at": in.At},
		Key:    fmt.Sprintf("%s/round/%d", in.ID, in.Round)}); err != nil {
		return err
	}
	return tx.Commit()
}

// UploadInput is a report received for a cycle's round.
type UploadInput struct {
	ID       string
	Round    int
	SHA256   string
	Uploader string
	At       time.Time
	Controls []string
}

// RecordUpload marks the cycle's report received.
func (a *Activities) RecordUpload(ctx context.Context, in UploadInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE vendor_reviews SET status = 'received', evidence_sha256 = $2, updated_at = now()
		WHERE id = $1`, in.ID, in.SHA256); err != nil {
		return fmt.Errorf("record upload for %s: %w", in.ID, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: in.Uploader, Action: "vendor-review.received", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "sha256": in.SHA256, "at": in.At},
		Key:    fmt.Sprintf("%s/received/%d", in.ID, in.Round)}); err != nil {
		return err
	}
	return tx.Commit()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
