package policyreview

import (
	"context"
	"fmt"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/refusal"
)

// ReviewChangeFailedInput is a change request a review started for a
// member's change that failed: refused at open (a role changed after
// CheckReviewChange), or failed later for any reason.
type ReviewChangeFailedInput struct {
	ReviewID  string
	Round     int
	MemberID  string
	PolicyID  string
	RequestID string
	Reason    string
	At        time.Time // when the review saw it fail
	Controls  []string
}

// RecordReviewChangeFailed audits a review's change request that failed.
// The review item keeps naming the request (policy_review_items is the
// member's answer as given), so without this entry the record would read as
// if the change were under way. A retry writes nothing more.
func (a *Activities) RecordReviewChangeFailed(ctx context.Context, in ReviewChangeFailedInput) error {
	if in.ReviewID == "" || in.Round < 1 || in.MemberID == "" || in.PolicyID == "" || in.RequestID == "" || in.At.IsZero() {
		return refusal.New("a failed review change needs the review, its round, the member, the policy, the change request and when: %+v", in)
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := audit.Write(ctx, tx, audit.Entry{
		Actor: "complyflow", Action: "policy.review.change-failed", Subject: in.ReviewID, Controls: in.Controls,
		Detail: map[string]any{"round": in.Round, "member": in.MemberID, "policy": in.PolicyID, "request": in.RequestID,
			"reason": in.Reason, "at": in.At.UTC()},
		Key: fmt.Sprintf("%s/round/%d/failed/%s", in.ReviewID, in.Round, in.RequestID),
	}); err != nil {
		return err
	}
	return tx.Commit()
}
