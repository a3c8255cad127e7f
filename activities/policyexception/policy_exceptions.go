// Package policyexception records policy exceptions in Postgres
// (policy management §5): the request, both approvals, the term, its
// reminders, re-evaluation and expiry, each step audited.
package policyexception

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/policy"
	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/temporal"
)

// Activities are the policy exception's activities.
type Activities struct {
	DB *sqlx.DB
}

// Process is the name the program file's controls list an exception's
// evidence under (controls.processes).
const Process = "policy-exception"

// Exception statuses, as policy_exceptions.status spells them; a
// PolicyException reports them as its stage too.
const (
	StatusRequested = "requested"
	StatusApproved  = "approved"
	StatusRejected  = "rejected"
	StatusExpired   = "expired"
	StatusClosed    = "closed"
)

// MaxExceptionTerm is the longest an exception may run from its approval.
const MaxExceptionTerm = "one year"

// ExceptionTermOK reports whether an exception approved at from may expire at
// until: after from, and no later than the same date a year on.
func ExceptionTermOK(from, until time.Time) bool {
	return until.After(from) && !until.After(from.AddDate(1, 0, 0))
}

// OpenExceptionInput is a request for an exception; ID is its workflow ID.
type OpenExceptionInput struct {
	ID          string
	PolicyID    string
	RequesterID string
	// ActedBy is who filed it on the requester's behalf ("cli:alice on
	// behalf of eve"); the audit entry's actor. Empty: the requester.
	ActedBy string
	Purpose string
	Reason  string
	Expires time.Time
	At      time.Time
}

// ExceptionInfo is who decides on the exception.
type ExceptionInfo struct {
	Policy           policy.Ref
	SecurityOfficers []string
	COOs             []string
	Controls         []string
	// InEffect is the approved term a renewal is asked for while it still
	// runs (ExceptionApprovers only); zero when none is in effect.
	InEffect ExceptionTerm
	// Refused says why nobody may approve a renewal (ExceptionApprovers
	// only): a role the requester alone holds. The request itself is refused
	// with an error instead, since nothing is recorded yet.
	Refused string
}

// ValidateException is the part of a request's validation that needs no
// database, shared with the starter and the portal.
func ValidateException(in OpenExceptionInput) error {
	var missing []string
	if strings.TrimSpace(in.Purpose) == "" {
		missing = append(missing, "the business purpose")
	}
	if strings.TrimSpace(in.Reason) == "" {
		missing = append(missing, "the reason the policy requirement cannot be met")
	}
	if len(missing) > 0 {
		return fmt.Errorf("an exception must document %s", strings.Join(missing, " and "))
	}
	if !ExceptionTermOK(in.At, in.Expires) {
		return fmt.Errorf("an exception expires at most %s after approval: %s is not between %s and %s",
			MaxExceptionTerm, in.Expires.Format(time.DateOnly), in.At.Format(time.DateOnly), in.At.AddDate(1, 0, 0).Format(time.DateOnly))
	}
	return nil
}

// OpenException validates and records the request. Its approval cannot come
// before the request, so an expiry within a year of the request is within a
// year of the approval too.
func (a *Activities) OpenException(ctx context.Context, in OpenExceptionInput) (ExceptionInfo, error) {
	if err := ValidateException(in); err != nil {
		return ExceptionInfo{}, refusal.New("%v", err)
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return ExceptionInfo{}, err
	}
	defer tx.Rollback()
	var info ExceptionInfo
	if info.Policy, err = policy.LoadActive(ctx, tx, in.PolicyID); err != nil {
		return ExceptionInfo{}, err
	}
	if err := directory.CheckActive(ctx, tx, in.RequesterID); err != nil {
		return ExceptionInfo{}, err
	}
	if info.SecurityOfficers, info.COOs, err = ExceptionDeciders(ctx, tx, in.RequesterID); err != nil {
		return ExceptionInfo{}, err
	}
	if info.Controls, err = directory.ControlsFor(ctx, tx, Process); err != nil {
		return ExceptionInfo{}, err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO policy_exceptions (id, policy_id, requester_id, business_purpose, reason, requested_expires_at, term, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, make_interval(secs => $7), $8) ON CONFLICT (id) DO NOTHING`,
		in.ID, in.PolicyID, in.RequesterID, in.Purpose, in.Reason, in.Expires, in.Expires.Sub(in.At).Seconds(), in.At); err != nil {
		return ExceptionInfo{}, fmt.Errorf("record exception: %w", err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: requestActor(in), Action: "policy.exception.requested", Subject: in.ID, Controls: info.Controls,
		Detail: map[string]any{"policy": in.PolicyID, "requester": in.RequesterID, "purpose": in.Purpose, "reason": in.Reason, "expires": in.Expires},
		Key:    in.ID + "/requested",
	}); err != nil {
		return ExceptionInfo{}, err
	}
	return info, tx.Commit()
}

// ExceptionDeciders answers who may decide on an exception requesterID asked
// for: the holders of each role the approvals need, less the requester, so
// that nobody approves, re-evaluates or is escalated their own exception. A
// role nobody else holds refuses the request, naming the role to fill.
func ExceptionDeciders(ctx context.Context, q sqlx.QueryerContext, requesterID string) (securityOfficers, coos []string, err error) {
	securityOfficers, coos, refused, err := exceptionDeciders(ctx, q, requesterID)
	if err == nil && refused != "" {
		err = refusal.New("%s", refused)
	}
	return securityOfficers, coos, err
}

// exceptionDeciders is ExceptionDeciders with the refusal as text, for a
// renewal to record rather than fail on.
func exceptionDeciders(ctx context.Context, q sqlx.QueryerContext, requesterID string) (securityOfficers, coos []string, refused string, err error) {
	pick := func(role string) ([]string, string, error) {
		holders, err := directory.RoleHolders(ctx, q, role)
		if err != nil {
			return nil, "", err
		}
		others := slices.DeleteFunc(slices.Clone(holders), func(id string) bool { return id == requesterID })
		switch {
		case len(holders) == 0:
			return nil, fmt.Sprintf("an exception is approved by both the Security Officer and the COO, and nobody holds the role %s: "+
				"name a holder under roles.%s in the program file (`starter program apply`)", role, role), nil
		case len(others) == 0:
			return nil, fmt.Sprintf("%s is the only holder of the role %s and may not approve their own exception: "+
				"add another holder or designee under roles.%s in the program file (`starter program apply`), then request it again",
				requesterID, role, role), nil
		}
		return others, "", nil
	}
	if securityOfficers, refused, err = pick("security_officer"); err != nil || refused != "" {
		return nil, nil, refused, err
	}
	if coos, refused, err = pick("coo"); err != nil || refused != "" {
		return nil, nil, refused, err
	}
	return securityOfficers, coos, "", nil
}

// ExceptionDecisionInput is one person's decision on an exception in a round.
type ExceptionDecisionInput struct {
	ID       string
	Round    int
	Step     string // security_officer, coo, re-evaluation
	TaskID   string
	By       string
	Action   string
	Note     string
	At       time.Time
	Controls []string
}

// RecordExceptionDecision records the decision and its audit entry.
func (a *Activities) RecordExceptionDecision(ctx context.Context, in ExceptionDecisionInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO policy_exception_decisions (exception_id, round, step, task_id, decided_by, action, note, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		in.ID, in.Round, in.Step, in.TaskID, in.By, in.Action, in.Note, in.At); err != nil {
		return fmt.Errorf("record %s decision on %s: %w", in.Step, in.ID, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: in.By, Action: "policy.exception." + in.Step, Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "action": in.Action, "note": in.Note, "task": in.TaskID},
		Key:    fmt.Sprintf("%s/round/%d/%s", in.ID, in.Round, in.Step),
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// ExceptionStatusInput moves an exception to Status in Round. For
// StatusApproved, At is the approval time and the term starts then.
type ExceptionStatusInput struct {
	ID       string
	Round    int
	Status   string
	Actor    string
	At       time.Time
	Controls []string
	Note     string // why, when the process itself decided (recorded in the audit entry)
}

// ExceptionTerm is an approved exception's term.
type ExceptionTerm struct {
	ApprovedAt time.Time `db:"approved_at"`
	ExpiresAt  time.Time `db:"expires_at"`
}

// SetExceptionStatus records the exception's new status. An approval sets the
// term: the first ends on the date asked for, a renewal runs as long as the
// first did; neither past a year from the approval (the table checks it too).
func (a *Activities) SetExceptionStatus(ctx context.Context, in ExceptionStatusInput) (ExceptionTerm, error) {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return ExceptionTerm{}, err
	}
	defer tx.Rollback()
	var term ExceptionTerm
	var ended sql.NullTime // the end of the term in effect, for any other status
	if in.Status == StatusApproved {
		err = tx.GetContext(ctx, &term, `
			UPDATE policy_exceptions SET status = $2, round = $3, approved_at = $4, updated_at = now(),
				expires_at = least(CASE WHEN $3 = 1 THEN requested_expires_at ELSE $4::timestamptz + term END,
				                   $4::timestamptz + interval '1 year')
			WHERE id = $1 RETURNING approved_at, expires_at`, in.ID, in.Status, in.Round, in.At)
		if err == nil && !term.ExpiresAt.After(term.ApprovedAt) {
			return ExceptionTerm{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"exception %s: approved on %s, after the expiry asked for (%s): it would expire at once; ask for a new expiry",
				in.ID, term.ApprovedAt.Format(time.DateOnly), term.ExpiresAt.Format(time.DateOnly)), "ExpiredBeforeApproval", nil)
		}
	} else {
		err = tx.GetContext(ctx, &ended, `UPDATE policy_exceptions SET status = $2, round = $3, updated_at = now() WHERE id = $1
			RETURNING expires_at`, in.ID, in.Status, in.Round)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ExceptionTerm{}, refusal.New("exception %s was never requested", in.ID)
	}
	if err != nil {
		return ExceptionTerm{}, fmt.Errorf("exception %s to %s: %w", in.ID, in.Status, err)
	}
	detail := map[string]any{"round": in.Round, "status": in.Status}
	if in.Note != "" {
		detail["note"] = in.Note
	}
	key := fmt.Sprintf("%s/round/%d/%s", in.ID, in.Round, in.Status)
	switch {
	case in.Status == StatusApproved:
		detail["approved_at"], detail["expires_at"] = term.ApprovedAt, term.ExpiresAt
	case in.Status == StatusExpired && ended.Valid:
		// One round can see two terms end: the one in effect while its
		// renewal is decided, and then the renewed one. The term's end tells
		// the two apart; a retry ends the same term and writes nothing new.
		detail["expires_at"] = ended.Time
		key += "/" + ended.Time.UTC().Format(time.RFC3339Nano)
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: in.Actor, Action: "policy.exception." + in.Status, Subject: in.ID, Controls: in.Controls,
		Detail: detail, Key: key,
	}); err != nil {
		return ExceptionTerm{}, err
	}
	return term, tx.Commit()
}

// ExceptionApproversInput names an exception already requested.
type ExceptionApproversInput struct {
	ID string
}

// ExceptionApprovers answers who decides on a renewal of the exception, as
// the roles stand now, or why nobody may (Refused).
func (a *Activities) ExceptionApprovers(ctx context.Context, in ExceptionApproversInput) (ExceptionInfo, error) {
	var cur struct {
		PolicyID    string       `db:"policy_id"`
		RequesterID string       `db:"requester_id"`
		Status      string       `db:"status"`
		ApprovedAt  sql.NullTime `db:"approved_at"`
		ExpiresAt   sql.NullTime `db:"expires_at"`
	}
	err := a.DB.GetContext(ctx, &cur, `SELECT policy_id, requester_id, status, approved_at, expires_at FROM policy_exceptions WHERE id = $1`, in.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return ExceptionInfo{}, refusal.New("exception %s was never requested", in.ID)
	}
	if err != nil {
		return ExceptionInfo{}, err
	}
	var info ExceptionInfo
	if cur.Status == StatusApproved && cur.ApprovedAt.Valid && cur.ExpiresAt.Valid {
		info.InEffect = ExceptionTerm{ApprovedAt: cur.ApprovedAt.Time, ExpiresAt: cur.ExpiresAt.Time}
	}
	if info.Policy, err = policy.Load(ctx, a.DB, cur.PolicyID); err != nil {
		return ExceptionInfo{}, err
	}
	if info.SecurityOfficers, info.COOs, info.Refused, err = exceptionDeciders(ctx, a.DB, cur.RequesterID); err != nil {
		return ExceptionInfo{}, err
	}
	info.Controls, err = directory.ControlsFor(ctx, a.DB, Process)
	return info, err
}

// requestActor is who the audit log names for the request: whoever filed it
// on the requester's behalf, else the requester.
func requestActor(in OpenExceptionInput) string {
	if in.ActedBy != "" {
		return in.ActedBy
	}
	return in.RequesterID
}
