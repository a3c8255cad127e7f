// Package policyreview records the annual policy review in Postgres (policy
// management §6): the review, each member's answer per policy, the changes
// asked for and what became of them, and the sign-off, each step audited.
package policyreview

import (
	"context"
	"fmt"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/policy"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Activities are the annual policy review's activities.
type Activities struct {
	DB *sqlx.DB
}

// Process is the name obligations and controls in the program file give
// the annual policy review.
const Process = "annual-policy-review"

// Review statuses, as policy_reviews.status spells them.
const (
	StatusOpened    = "opened"
	StatusInReview  = "in-review"
	StatusSignedOff = "signed-off"
)

// Review item outcomes.
const (
	OutcomeNoChange        = "no-change"
	OutcomeChangeRequested = "change-requested"
	// OutcomeChangeRefused is a change asked for whose change request could
	// not be opened (see CheckReviewChange): no change request, the note
	// says why.
	OutcomeChangeRefused = "change-refused"
)

// OpenReviewInput starts an annual policy review; ID is its workflow ID.
type OpenReviewInput struct {
	ID           string
	ObligationID string
	Scope        []string // policy IDs; empty means every policy not deprecated
	ControlIDs   []string // from the schedule; empty means the controls listing the process
}

// ReviewInfo is who takes part and what is reviewed.
type ReviewInfo struct {
	OfficerID string
	Committee []string
	Policies  []policy.Ref
	Controls  []string
}

// OpenPolicyReview records the review and answers its officer, committee and
// policies in scope.
func (a *Activities) OpenPolicyReview(ctx context.Context, in OpenReviewInput) (ReviewInfo, error) {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return ReviewInfo{}, err
	}
	defer tx.Rollback()
	var info ReviewInfo
	officers, err := directory.RoleHolders(ctx, tx, "security_officer", "privacy_officer")
	if err != nil {
		return ReviewInfo{}, err
	}
	if len(officers) == 0 {
		return ReviewInfo{}, refusal.New("nobody holds the role security_officer or privacy_officer to run the review")
	}
	info.OfficerID = officers[0]
	if info.Committee, err = directory.RoleHolders(ctx, tx, "review_committee"); err != nil {
		return ReviewInfo{}, err
	}
	if len(info.Committee) == 0 {
		return ReviewInfo{}, refusal.New("nobody holds the role review_committee")
	}
	if err := tx.SelectContext(ctx, &info.Policies, `
		SELECT `+policy.RefColumns+`
		FROM policies WHERE status <> 'deprecated' AND (coalesce(cardinality($1::text[]), 0) = 0 OR id = ANY ($1))
		ORDER BY id`, pq.Array(in.Scope)); err != nil {
		return ReviewInfo{}, err
	}
	if len(in.Scope) > 0 && len(info.Policies) != len(in.Scope) {
		return ReviewInfo{}, refusal.New("scope %v names a policy that is not in the program", in.Scope)
	}
	if len(info.Policies) == 0 {
		return ReviewInfo{}, refusal.New("no policies to review")
	}
	info.Controls = in.ControlIDs
	if len(info.Controls) == 0 {
		if info.Controls, err = directory.ControlsFor(ctx, tx, Process); err != nil {
			return ReviewInfo{}, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO policy_reviews (id, obligation_id, officer_id) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO NOTHING`, in.ID, in.ObligationID, info.OfficerID); err != nil {
		return ReviewInfo{}, fmt.Errorf("record review: %w", err)
	}
	ids := make([]string, len(info.Policies))
	for i, p := range info.Policies {
		ids[i] = p.ID
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: "complyflow", Action: "policy.review.created", Subject: in.ID, Controls: info.Controls,
		Detail: map[string]any{"obligation": in.ObligationID, "officer": info.OfficerID, "committee": info.Committee, "policies": ids},
		Key:    in.ID + "/created",
	}); err != nil {
		return ReviewInfo{}, err
	}
	return info, tx.Commit()
}

// ReviewStatusInput moves a review to Status in Round: opened by the officer,
// in review by the committee, or signed off. A sign-off rejected back (see
// RecordReviewRejection) is the next round in review, By the officer who
// rejected it and Note saying why.
type ReviewStatusInput struct {
	ID       string
	Round    int
	Status   string
	By       string
	Note     string
	At       time.Time
	Controls []string
}

// RecordReviewStatus records the review's new status and its audit entry.
func (a *Activities) RecordReviewStatus(ctx context.Context, in ReviewStatusInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		UPDATE policy_reviews SET status = $2, round = $3,
			opened_at = CASE WHEN $2 = 'opened' THEN $4::timestamptz ELSE opened_at END,
			signed_off_at = CASE WHEN $2 = 'signed-off' THEN $4::timestamptz ELSE signed_off_at END,
			sign_off_note = CASE WHEN $2 = 'signed-off' OR $3 > 1 THEN $5 ELSE sign_off_note END
		WHERE id = $1`, in.ID, in.Status, in.Round, in.At, in.Note); err != nil {
		return fmt.Errorf("review %s to %s: %w", in.ID, in.Status, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: in.By, Action: "policy.review." + in.Status, Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "note": in.Note},
		Key:    fmt.Sprintf("%s/round/%d/%s", in.ID, in.Round, in.Status),
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// ReviewRejectionInput is the officer's rejection of Round's sign-off,
// which sends the review back for round Round+1.
type ReviewRejectionInput struct {
	ID       string
	Round    int
	TaskID   string
	By       string
	Note     string
	At       time.Time
	Controls []string
}

// RecordReviewRejection records who rejected a round's sign-off, when and
// why, and its audit entry; a retry writes neither twice.
func (a *Activities) RecordReviewRejection(ctx context.Context, in ReviewRejectionInput) error {
	if in.ID == "" || in.Round < 1 || in.By == "" || in.At.IsZero() {
		return refusal.New("a sign-off rejection needs the review, its round, who rejected it and when: %+v", in)
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO policy_review_rejections (review_id, round, task_id, rejected_by, note, rejected_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (review_id, round) DO NOTHING`,
		in.ID, in.Round, in.TaskID, in.By, in.Note, in.At); err != nil {
		return fmt.Errorf("record rejection of %s round %d: %w", in.ID, in.Round, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: in.By, Action: "policy.review.sign-off-rejected", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "task": in.TaskID, "note": in.Note},
		Key:    fmt.Sprintf("%s/round/%d/sign-off-rejected", in.ID, in.Round),
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// ReviewItem is one reviewer's finding on one policy.
type ReviewItem struct {
	PolicyID        string
	Outcome         string // no-change, change-requested, change-refused
	Note            string
	ChangeRequestID string
}

// ReviewItemsInput is everything one reviewer found in one round.
type ReviewItemsInput struct {
	ID         string
	Round      int
	ReviewerID string
	TaskID     string
	Items      []ReviewItem
	At         time.Time
	Controls   []string
	// Clarify numbers the member's answers to requests to restate lines
	// that were not understood (0: the review task itself).
	Clarify int
	// Unclear lists the lines of a rejection that were not understood.
	Unclear []string
}

func reviewedKey(in ReviewItemsInput) string {
	key := fmt.Sprintf("%s/round/%d/reviewed/%s", in.ID, in.Round, in.ReviewerID)
	if in.Clarify > 0 {
		key += fmt.Sprintf("/clarify/%d", in.Clarify)
	}
	return key
}

// RecordReviewItems records who reviewed which policy, when, and what they
// asked to change: a row per policy per answer, so a clarification asking
// for another change to a policy already changed keeps both change requests.
func (a *Activities) RecordReviewItems(ctx context.Context, in ReviewItemsInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, it := range in.Items {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO policy_review_items (review_id, round, reviewer_id, clarify, policy_id, outcome, note, change_request_id, reviewed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (review_id, round, reviewer_id, clarify, policy_id) DO NOTHING`,
			in.ID, in.Round, in.ReviewerID, in.Clarify, it.PolicyID, it.Outcome, it.Note, it.ChangeRequestID, in.At); err != nil {
			return fmt.Errorf("record review of %s by %s: %w", it.PolicyID, in.ReviewerID, err)
		}
		if it.Outcome != OutcomeChangeRefused {
			continue
		}
		// Its own entry, so an auditor looking for changes asked for and
		// never made finds it without reading every review's items.
		if err := audit.Write(ctx, tx, audit.Entry{
			Actor: "complyflow", Action: "policy.review.change-refused", Subject: in.ID, Controls: in.Controls,
			Detail: map[string]any{"round": in.Round, "task": in.TaskID, "requester": in.ReviewerID, "policy": it.PolicyID, "note": it.Note},
			Key:    reviewedKey(in) + "/refused/" + it.PolicyID,
		}); err != nil {
			return err
		}
	}
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: in.ReviewerID, Action: "policy.review.reviewed", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "task": in.TaskID, "items": in.Items, "unclear": in.Unclear},
		Key:    reviewedKey(in),
	}); err != nil {
		return err
	}
	return tx.Commit()
}
