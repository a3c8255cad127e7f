package vendorreview

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Record is one cycle as `starter records vendor-reviews` shows it.
type Record struct {
	ID            string     `db:"id" json:"id"`
	VendorID      string     `db:"vendor_id" json:"vendor"`
	VendorName    string     `db:"vendor_name" json:"vendor_name"`
	Cycle         string     `db:"cycle" json:"cycle"`
	Status        string     `db:"status" json:"status"`
	Round         int        `db:"round" json:"round"`
	RequestedAt   time.Time  `db:"requested_at" json:"requested_at"`
	ReportType    string     `db:"report_type" json:"report_type"`
	PeriodStart   *time.Time `db:"period_start" json:"period_start"`
	PeriodEnd     *time.Time `db:"period_end" json:"period_end"`
	AuditFirm     string     `db:"audit_firm" json:"audit_firm"`
	Opinion       string     `db:"opinion" json:"opinion"`
	Exceptions    string     `db:"exceptions" json:"exceptions"`
	ReviewerID    string     `db:"reviewer_id" json:"reviewer"`
	Decision      string     `db:"decision" json:"decision"`
	DecidedBy     *string    `db:"decided_by" json:"decided_by"`
	DecidedAt     *time.Time `db:"decided_at" json:"decided_at"`
	CoverageUntil *time.Time `db:"coverage_until" json:"coverage_until"`
	NextRequestAt *time.Time `db:"next_request_at" json:"next_request_at"`
	Files         []File     `db:"-" json:"files"`
}

// File is one report uploaded for a cycle.
type File struct {
	SHA256     string    `db:"sha256" json:"sha256"`
	Size       int64     `db:"size" json:"size"`
	MediaType  string    `db:"media_type" json:"media_type"`
	Uploader   string    `db:"uploader" json:"uploader"`
	Filename   string    `db:"filename" json:"filename"`
	UploadedAt time.Time `db:"uploaded_at" json:"uploaded_at"`
}

// Standing is whether a vendor is covered by an accepted report today.
type Standing struct {
	VendorID      string     `db:"id" json:"vendor"`
	Name          string     `db:"name" json:"name"`
	Criticality   string     `db:"criticality" json:"criticality"`
	CoverageUntil *time.Time `db:"coverage_until" json:"coverage_until"`
	// State is "covered", "lapsed" (the last accepted report's coverage
	// has ended) or "never reviewed".
	State string `db:"-" json:"state"`
}

// Records lists every cycle, of one vendor when vendorID is set, newest
// first, each with its uploaded files.
func Records(ctx context.Context, db sqlx.QueryerContext, vendorID string) ([]Record, error) {
	var rs []Record
	if err := sqlx.SelectContext(ctx, db, &rs, `SELECT r.id, r.vendor_id, v.name AS vendor_name, r.cycle, r.status, r.round, r.requested_at,
			r.report_type, r.period_start, r.period_end, r.audit_firm, r.opinion, r.exceptions, r.reviewer_id, r.decision,
			r.decided_by, r.decided_at, r.coverage_until, r.next_request_at
		FROM vendor_reviews r JOIN vendors v ON v.id = r.vendor_id
		WHERE $1 = '' OR r.vendor_id = $1 ORDER BY r.created_at DESC, r.id`, vendorID); err != nil {
		return nil, fmt.Errorf("list vendor reviews: %w", err)
	}
	for i := range rs {
		if err := sqlx.SelectContext(ctx, db, &rs[i].Files, `SELECT u.sha256, f.size, f.media_type, u.uploader, u.filename, u.uploaded_at
			FROM evidence_uploads u JOIN evidence_files f USING (sha256) WHERE u.subject = $1 ORDER BY u.id`, rs[i].ID); err != nil {
			return nil, fmt.Errorf("files of %s: %w", rs[i].ID, err)
		}
	}
	return rs, nil
}

// Standings says, for every vendor (or one), whether an accepted report
// covers it at now.
func Standings(ctx context.Context, db sqlx.QueryerContext, vendorID string, now time.Time) ([]Standing, error) {
	var ss []Standing
	if err := sqlx.SelectContext(ctx, db, &ss, `SELECT v.id, v.name, v.criticality,
			(SELECT max(r.coverage_until) FROM vendor_reviews r WHERE r.vendor_id = v.id AND r.coverage_until IS NOT NULL) AS coverage_until
		FROM vendors v WHERE $1 = '' OR v.id = $1 ORDER BY v.id`, vendorID); err != nil {
		return nil, fmt.Errorf("vendor standings: %w", err)
	}
	for i, s := range ss {
		switch {
		case s.CoverageUntil == nil:
			ss[i].State = "never reviewed"
		case s.CoverageUntil.After(now):
			ss[i].State = "covered"
		default:
			ss[i].State = "lapsed"
		}
	}
	return ss, nil
}

// Cycle is what the upload page shows of a cycle.
type Cycle struct {
	ID         string         `db:"id"`
	VendorName string         `db:"vendor_name"`
	Cycle      string         `db:"cycle"`
	Status     string         `db:"status"`
	Due        time.Time      `db:"due_at"`
	ControlIDs pq.StringArray `db:"control_ids"`
}

// LoadCycle reads one cycle; ok is false when there is none.
func LoadCycle(ctx context.Context, db sqlx.QueryerContext, id string) (Cycle, bool, error) {
	var c Cycle
	err := sqlx.GetContext(ctx, db, &c, `SELECT r.id, v.name AS vendor_name, r.cycle, r.status, r.due_at, r.control_ids
		FROM vendor_reviews r JOIN vendors v ON v.id = r.vendor_id WHERE r.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Cycle{}, false, nil
	}
	if err != nil {
		return Cycle{}, false, fmt.Errorf("load vendor review %s: %w", id, err)
	}
	return c, true, nil
}
