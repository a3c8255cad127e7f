// Package policychange records policy change requests in Postgres (policy
// management §3): the request and its rounds, each decision, the archived
// and the published version, the announcement and the re-acknowledgement it
// owes, each step written to the audit log under the controls it evidences.
package policychange

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/policy"
)

// Activities are the change request's activities.
type Activities struct {
	DB *sqlx.DB
}

// Process is the name the program file's controls list a change request's
// evidence under (controls.processes).
const Process = "policy-change-request"

// Change request statuses: change_requests.status, and the stage a
// PolicyChangeRequest's status query reports. One vocabulary for both.
const (
	StatusInReview                 = "in-review"
	StatusReturned                 = "returned"
	StatusAwaitingSecondApproval   = "awaiting-second-approval"
	StatusAwaitingEngineering      = "awaiting-engineering-approval"
	StatusAwaitingProductionChange = "awaiting-production-change"
	StatusApproved                 = "approved"   // every approval in: publishing
	StatusAnnouncing               = "announcing" // published, not yet announced to everyone
	StatusPublished                = "published"
	StatusWithdrawn                = "withdrawn"
)

// OpenChangeRequestInput is a new change request; ID is its workflow ID.
type OpenChangeRequestInput struct {
	ID                    string
	PolicyID              string
	Kind                  policy.Kind
	Summary               string
	Body                  string
	Reference             string
	NeedsProductionChange bool
	RequesterID           string
	// ActedBy is who filed it on the requester's behalf ("cli:alice on
	// behalf of eve"); the audit entry's actor. Empty: the requester.
	ActedBy  string
	ReviewID string
	At       time.Time
}

// ChangeRequestInfo is who the request goes to, never its requester
// (segregation of duties). Reviewers are the Security Officers, else the
// Privacy Officers; SecondApprovers the CEO, else the designee. Who an
// overdue task escalates to is resolved when the step fires (the role's
// holders then, less the requester), not here. Engineering
// is the Head of Engineering when the program file marks the policy as about
// product development (product_development: true).
type ChangeRequestInfo struct {
	Policy          policy.Ref
	RequesterName   string
	Reviewers       []string
	SecondApprovers []string
	Engineering     []string
	Controls        []string
}

// OpenChangeRequest validates and records the request and its first round.
func (a *Activities) OpenChangeRequest(ctx context.Context, in OpenChangeRequestInput) (ChangeRequestInfo, error) {
	if _, err := policy.ParseKind(string(in.Kind)); err != nil {
		return ChangeRequestInfo{}, refusal.New("%v", err)
	}
	if strings.TrimSpace(in.Summary) == "" {
		return ChangeRequestInfo{}, refusal.New("a change request needs a summary of the change")
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return ChangeRequestInfo{}, err
	}
	defer tx.Rollback()
	var info ChangeRequestInfo
	if info.Policy, err = policy.LoadActive(ctx, tx, in.PolicyID); err != nil {
		return ChangeRequestInfo{}, err
	}
	if in.Kind == policy.Minor && info.Policy.Version == "" {
		return ChangeRequestInfo{}, refusal.New("policy %s has no published version to revise: its first version is a material change", in.PolicyID)
	}
	if err := directory.CheckActive(ctx, tx, in.RequesterID); err != nil {
		return ChangeRequestInfo{}, err
	}
	if err := tx.GetContext(ctx, &info.RequesterName, `SELECT name FROM people WHERE id = $1`, in.RequesterID); err != nil {
		return ChangeRequestInfo{}, err
	}
	if err := changeApprovers(ctx, tx, in.RequesterID, in.Kind, &info); err != nil {
		return ChangeRequestInfo{}, err
	}
	if info.Controls, err = directory.ControlsFor(ctx, tx, Process); err != nil {
		return ChangeRequestInfo{}, err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO change_requests (id, policy_id, kind, summary, requester_id, needs_production_change, review_id, created_at, base_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
		in.ID, in.PolicyID, in.Kind, in.Summary, in.RequesterID, in.NeedsProductionChange, in.ReviewID, in.At, info.Policy.Version); err != nil {
		return ChangeRequestInfo{}, fmt.Errorf("record change request: %w", err)
	}
	if err := insertRound(ctx, tx, ChangeRoundInput{RequestID: in.ID, Round: 1, Body: in.Body, Reference: in.Reference,
		Note: in.Summary, By: in.RequesterID, At: in.At}); err != nil {
		return ChangeRequestInfo{}, err
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: actor(in.RequesterID, in.ActedBy), Action: "policy.change.requested", Subject: in.ID, Controls: info.Controls,
		Detail: map[string]any{"policy": in.PolicyID, "requester": in.RequesterID, "kind": in.Kind, "summary": in.Summary, "current_version": info.Policy.Version,
			"needs_production_change": in.NeedsProductionChange, "content_sha256": policy.ContentHash(in.Body), "reference": in.Reference},
		Key: in.ID + "/requested",
	}); err != nil {
		return ChangeRequestInfo{}, err
	}
	return info, tx.Commit()
}

// actor is who the audit log names for a step a requester asked for:
// whoever acted on their behalf, else the requester.
func actor(requester, actedBy string) string {
	if actedBy != "" {
		return actedBy
	}
	return requester
}

// changeApprovers fills in who reviews and approves a request on
// info.Policy, none of them its requester; an approval nobody but the
// requester could give is a non-retryable error.
func changeApprovers(ctx context.Context, q sqlx.QueryerContext, requester string, kind policy.Kind, info *ChangeRequestInfo) error {
	var err error
	if info.Reviewers, err = directory.OthersHolding(ctx, q, requester, "review the request", "security_officer", "privacy_officer"); err != nil {
		return err
	}
	if kind == policy.Material {
		if info.SecondApprovers, err = directory.OthersHolding(ctx, q, requester, "approve a material change", "ceo", "ceo_designee"); err != nil {
			return err
		}
	}
	// The program file says which policies are about product development
	// (product_development: true); their owner says nothing about it.
	var productDevelopment bool
	if err := sqlx.GetContext(ctx, q, &productDevelopment, `SELECT product_development FROM policies WHERE id = $1`, info.Policy.ID); err != nil {
		return fmt.Errorf("policy %s: %w", info.Policy.ID, err)
	}
	if productDevelopment {
		if info.Engineering, err = directory.OthersHolding(ctx, q, requester, "approve a product development policy's change", "head_of_engineering"); err != nil {
			return err
		}
	}
	return nil
}

// CheckChangeApprovers answers the error OpenChangeRequest would give for
// want of someone other than the requester to review or approve the
// request, so a command can refuse it before starting anything.
func CheckChangeApprovers(ctx context.Context, q sqlx.QueryerContext, policyID, requester string, kind policy.Kind) error {
	info := ChangeRequestInfo{}
	var err error
	if info.Policy, err = policy.LoadActive(ctx, q, policyID); err != nil {
		return err
	}
	return changeApprovers(ctx, q, requester, kind, &info)
}

// ChangeRoundInput is what the requester submitted in one round.
type ChangeRoundInput struct {
	RequestID string
	Round     int
	Body      string
	Reference string
	Note      string
	By        string
	ActedBy   string `json:",omitempty"` // who submitted it on By's behalf, if not By
	At        time.Time
	Controls  []string
}

func insertRound(ctx context.Context, q sqlx.ExecerContext, in ChangeRoundInput) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO change_request_rounds (request_id, round, body, content_sha256, reference, note, submitted_by, submitted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		in.RequestID, in.Round, in.Body, policy.ContentHash(in.Body), in.Reference, in.Note, in.By, in.At)
	if err != nil {
		return fmt.Errorf("record round %d of %s: %w", in.Round, in.RequestID, err)
	}
	return nil
}

// RecordResubmission records the next round after a rejection and puts the
// request back in review.
func (a *Activities) RecordResubmission(ctx context.Context, in ChangeRoundInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertRound(ctx, tx, in); err != nil {
		return err
	}
	// The new round is reviewed against the version in effect now.
	if _, err := tx.ExecContext(ctx, `UPDATE change_requests c SET status = $2, updated_at = now(),
			base_version = coalesce((SELECT version FROM policy_versions v WHERE v.policy_id = c.policy_id AND v.superseded_at IS NULL), '')
		WHERE id = $1`, in.RequestID, StatusInReview); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: actor(in.By, in.ActedBy), Action: "policy.change.resubmitted", Subject: in.RequestID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "note": in.Note, "reference": in.Reference, "content_sha256": policy.ContentHash(in.Body)},
		Key:    fmt.Sprintf("%s/round/%d/submitted", in.RequestID, in.Round),
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// ChangeDecisionInput is one decision in a round and the status it leaves
// the request in.
type ChangeDecisionInput struct {
	RequestID string
	Round     int
	Step      string // review, second-approval, response, production-change
	TaskID    string
	By        string
	Action    string
	Note      string
	At        time.Time
	Status    string
	Controls  []string
	ActedBy   string `json:",omitempty"` // who decided on By's behalf, if not By
}

// RecordChangeDecision records the decision, the request's new status and
// the audit entry. A production-change decision's note is the reference.
func (a *Activities) RecordChangeDecision(ctx context.Context, in ChangeDecisionInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO change_request_decisions (request_id, round, step, task_id, decided_by, action, note, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		in.RequestID, in.Round, in.Step, in.TaskID, in.By, in.Action, in.Note, in.At); err != nil {
		return fmt.Errorf("record %s decision on %s: %w", in.Step, in.RequestID, err)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE change_requests SET status = $2, updated_at = now(),
			production_change_ref = CASE WHEN $3 THEN $4 ELSE production_change_ref END,
			closed_at = CASE WHEN $2 = 'withdrawn' THEN $5::timestamptz ELSE closed_at END
		WHERE id = $1`, in.RequestID, in.Status, in.Step == "production-change", in.Note, in.At); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: actor(in.By, in.ActedBy), Action: "policy.change." + in.Step, Subject: in.RequestID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "action": in.Action, "note": in.Note, "task": in.TaskID, "status": in.Status},
		Key:    fmt.Sprintf("%s/round/%d/%s", in.RequestID, in.Round, in.Step),
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// PublishInput publishes the approved change. ChangeAt is when the change was
// approved; its year is the year of the version.
type PublishInput struct {
	RequestID   string
	Round       int // the round approved; named in the record of a refusal
	PolicyID    string
	Kind        policy.Kind
	Summary     string
	Body        string
	Reference   string
	PublishedBy string
	ChangeAt    time.Time
	Controls    []string
	// Announcing leaves the request announcing, not published, until
	// RecordAnnouncement: set by runs that record the announcement after it.
	Announcing bool
}

// PublishedVersion is what PublishPolicyVersion did.
type PublishedVersion struct {
	Version         string    `db:"version"`
	PublishedAt     time.Time `db:"published_at"`
	ArchivedVersion string    // the version archived first; "" for a revision or a first version
	ArchivedAt      time.Time
	// PolicyDeprecated says the program file deprecated the policy after the
	// request opened. The version is on record, but a policy no longer in
	// force is neither announced nor owed acknowledgements.
	PolicyDeprecated bool
}

// PublishPolicyVersion archives the version in effect (for a material change)
// and then publishes the new one, in one transaction: the policy_versions
// trigger refuses a material version whose predecessor is not archived
// earlier, so the order cannot be broken here or by anyone else. A retry
// after a commit finds the version published for the request and returns it.
func (a *Activities) PublishPolicyVersion(ctx context.Context, in PublishInput) (PublishedVersion, error) {
	if _, err := policy.ParseKind(string(in.Kind)); err != nil {
		return PublishedVersion{}, refusal.New("%v", err)
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return PublishedVersion{}, err
	}
	defer tx.Rollback()
	var deprecated bool
	if err := tx.GetContext(ctx, &deprecated, `SELECT status = 'deprecated' FROM policies WHERE id = $1 FOR UPDATE`, in.PolicyID); err != nil {
		return PublishedVersion{}, err
	}
	out := PublishedVersion{PolicyDeprecated: deprecated}
	var done struct {
		Version         string       `db:"version"`
		PublishedAt     time.Time    `db:"published_at"`
		ArchivedVersion string       `db:"archived_version"`
		ArchivedAt      sql.NullTime `db:"archived_at"`
	}
	err = tx.GetContext(ctx, &done, `
		SELECT n.version, n.published_at, coalesce(o.version, '') AS archived_version, o.archived_at
		FROM policy_versions n LEFT JOIN policy_versions o
		  ON o.policy_id = n.policy_id AND o.superseded_at = n.published_at AND o.archived_at IS NOT NULL
		WHERE n.policy_id = $1 AND n.change_request_id = $2`, in.PolicyID, in.RequestID)
	if err == nil {
		// Answer as the publish that committed did, whatever the policy's
		// status is now: its audit entry says whether it was deprecated then.
		var then bool
		if err := tx.GetContext(ctx, &then, `SELECT coalesce(bool_or((detail->>'policy_deprecated')::boolean), false)
			FROM audit_log WHERE action = 'policy.version.published' AND split_part(idempotency_key, '#', 1) = $1`,
			in.RequestID+"/published"); err != nil {
			return PublishedVersion{}, err
		}
		return PublishedVersion{Version: done.Version, PublishedAt: done.PublishedAt,
			ArchivedVersion: done.ArchivedVersion, ArchivedAt: done.ArchivedAt.Time, PolicyDeprecated: then}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return PublishedVersion{}, err
	}
	if err := refuseWithoutDocument(ctx, tx, in); err != nil {
		return PublishedVersion{}, err
	}
	var cur struct {
		Year, Seq, Revision int
		Version             string
	}
	var cv policy.Version
	err = tx.GetContext(ctx, &cur, `SELECT year, seq, revision, version FROM policy_versions
		WHERE policy_id = $1 AND superseded_at IS NULL`, in.PolicyID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Unversioned: the first version.
	case err != nil:
		return PublishedVersion{}, err
	default:
		cv = policy.Version{Year: cur.Year, N: cur.Seq, Rev: cur.Revision}
	}
	if err := refuseSuperseded(ctx, tx, in, cur.Version); err != nil {
		return PublishedVersion{}, err
	}
	next, err := policy.Next(cv, in.Kind, in.ChangeAt)
	if err != nil {
		return PublishedVersion{}, refusal.New("policy %s: %v", in.PolicyID, err)
	}
	if in.Kind == policy.Material && !cv.IsZero() {
		if err := tx.GetContext(ctx, &out.ArchivedAt, `UPDATE policy_versions SET archived_at = clock_timestamp()
			WHERE policy_id = $1 AND superseded_at IS NULL RETURNING archived_at`, in.PolicyID); err != nil {
			return PublishedVersion{}, fmt.Errorf("archive %s %s: %w", in.PolicyID, cur.Version, err)
		}
		out.ArchivedVersion = cur.Version
		if err := audit.Write(ctx, tx, audit.Entry{
			Actor: in.PublishedBy, Action: "policy.version.archived", Subject: in.PolicyID, Controls: in.Controls,
			Detail: map[string]any{"version": cur.Version, "archived_at": out.ArchivedAt, "change_request": in.RequestID},
			Key:    in.RequestID + "/archived",
		}); err != nil {
			return PublishedVersion{}, err
		}
	}
	if err := tx.GetContext(ctx, &out, `
		INSERT INTO policy_versions (policy_id, year, seq, revision, kind, summary, body, reference, content_sha256,
			change_request_id, published_by, published_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, clock_timestamp())
		RETURNING version, published_at`,
		in.PolicyID, next.Year, next.N, next.Rev, in.Kind, in.Summary, in.Body, in.Reference, policy.ContentHash(in.Body),
		in.RequestID, in.PublishedBy); err != nil {
		return PublishedVersion{}, fmt.Errorf("publish %s %s: %w", in.PolicyID, next, err)
	}
	status := StatusPublished
	if in.Announcing && !deprecated {
		status = StatusAnnouncing
	}
	if _, err := tx.ExecContext(ctx, `UPDATE change_requests SET status = $2, published_version = $3, updated_at = now(),
			closed_at = CASE WHEN $2 = 'published' THEN now() END
		WHERE id = $1`, in.RequestID, status, out.Version); err != nil {
		return PublishedVersion{}, err
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: in.PublishedBy, Action: "policy.version.published", Subject: in.PolicyID, Controls: in.Controls,
		Detail: map[string]any{"version": out.Version, "kind": in.Kind, "published_at": out.PublishedAt, "archived_version": out.ArchivedVersion,
			"content_sha256": policy.ContentHash(in.Body), "change_request": in.RequestID, "policy_deprecated": deprecated},
		Key: in.RequestID + "/published",
	}); err != nil {
		return PublishedVersion{}, err
	}
	return out, tx.Commit()
}

// Superseded is the details of a "Superseded" error: the version the
// request was reviewed against and the one in effect instead.
type Superseded struct {
	Base    string
	Current string
}

// refuseSuperseded refuses to publish a request reviewed against a version
// that is no longer in effect (another change was published meanwhile): its
// text would silently undo that change. It records the request as returned
// to its requester, with the reason, and answers a non-retryable
// "Superseded" error carrying both versions.
func refuseSuperseded(ctx context.Context, tx *sqlx.Tx, in PublishInput, current string) error {
	var base sql.NullString
	if err := tx.GetContext(ctx, &base, `SELECT base_version FROM change_requests WHERE id = $1`, in.RequestID); err != nil {
		return fmt.Errorf("change request %s: %w", in.RequestID, err)
	}
	if !base.Valid || base.String == current {
		return nil
	}
	msg := fmt.Sprintf("policy %s is now at version %s, not %s the change was reviewed against: it must be reviewed again against the current text",
		in.PolicyID, orUnversioned(current), orUnversioned(base.String))
	if _, err := tx.ExecContext(ctx, `UPDATE change_requests SET status = $2, updated_at = now() WHERE id = $1`,
		in.RequestID, StatusReturned); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: "complyflow", Action: "policy.change.superseded", Subject: in.RequestID, Controls: in.Controls,
		Detail: map[string]any{"policy": in.PolicyID, "reviewed_against": base.String, "current_version": current,
			"round": in.Round, "note": msg},
		Key: fmt.Sprintf("%s/superseded/%s/%s", in.RequestID, base.String, current),
	}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(msg, "Superseded", nil, Superseded{Base: base.String, Current: current})
}

// NoDocumentError is the type of the error refusing to publish a request
// with neither the policy's text nor a reference to where it lives.
const NoDocumentError = "NoDocument"

// NoDocument is the details of a NoDocumentError.
type NoDocument struct {
	PolicyID string
	Round    int
}

// refuseWithoutDocument refuses to publish a request with neither text nor
// reference (a change asked for in the annual review names only its
// summary): the version would be an empty row, and archiving it later would
// archive nothing. Like refuseSuperseded, it records the request as returned
// to its requester, with the reason, and answers a non-retryable
// NoDocumentError.
func refuseWithoutDocument(ctx context.Context, tx *sqlx.Tx, in PublishInput) error {
	if strings.TrimSpace(in.Body) != "" || strings.TrimSpace(in.Reference) != "" {
		return nil
	}
	msg := fmt.Sprintf("change request %s names neither the new text of policy %s nor a reference to where it lives: "+
		"a version is published with its document", in.RequestID, in.PolicyID)
	if _, err := tx.ExecContext(ctx, `UPDATE change_requests SET status = $2, updated_at = now() WHERE id = $1`,
		in.RequestID, StatusReturned); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: "complyflow", Action: "policy.change.no-document", Subject: in.RequestID, Controls: in.Controls,
		Detail: map[string]any{"policy": in.PolicyID, "round": in.Round, "note": msg},
		Key:    fmt.Sprintf("%s/no-document/%d", in.RequestID, in.Round),
	}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(msg, NoDocumentError, nil, NoDocument{PolicyID: in.PolicyID, Round: in.Round})
}

func orUnversioned(v string) string {
	if v == "" {
		return "(unversioned)"
	}
	return v
}

// AnnouncedInput is what the announcement of a published version reached.
type AnnouncedInput struct {
	RequestID string
	PolicyID  string
	Version   string
	Emailed   int
	Slack     string // sent, failed or unavailable
	Controls  []string
}

// RecordAnnouncement writes the audit entry of a version's announcement and
// closes a request left announcing as published; notifications hold who was
// told.
func (a *Activities) RecordAnnouncement(ctx context.Context, in AnnouncedInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE change_requests SET status = $2, updated_at = now(), closed_at = now()
		WHERE id = $1 AND status = $3`, in.RequestID, StatusPublished, StatusAnnouncing); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: "complyflow", Action: "policy.change.announced", Subject: in.RequestID, Controls: in.Controls,
		Detail: map[string]any{"policy": in.PolicyID, "version": in.Version, "emailed": in.Emailed, "slack": in.Slack},
		Key:    in.RequestID + "/announced",
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// ReacknowledgementInput names a material version everyone must acknowledge.
type ReacknowledgementInput struct {
	RequestID string
	PolicyID  string
	Version   string
	Controls  []string
	// CampaignID is the campaign that collects it (started next).
	CampaignID string
}

// RecordReacknowledgementOwed records that the policy's new version is owed
// an acknowledgement by everyone, and the campaign that collects it.
func (a *Activities) RecordReacknowledgementOwed(ctx context.Context, in ReacknowledgementInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO policy_acknowledgements_owed (policy_id, version, change_request_id, campaign_ref)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, in.PolicyID, in.Version, in.RequestID, in.CampaignID); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: "complyflow", Action: "policy.reacknowledgement.owed", Subject: in.PolicyID, Controls: in.Controls,
		Detail: map[string]any{"version": in.Version, "change_request": in.RequestID, "campaign": in.CampaignID},
		Key:    in.RequestID + "/reacknowledgement",
	}); err != nil {
		return err
	}
	return tx.Commit()
}
