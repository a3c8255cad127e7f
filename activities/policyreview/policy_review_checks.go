package policyreview

import (
	"context"

	"github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/policy"
)

// ReviewChangeCheckInput is a change a committee member asked for in an
// annual review, before its change request is opened.
type ReviewChangeCheckInput struct {
	PolicyID    string
	RequesterID string
	Kind        policy.Kind
}

// ReviewChangeCheck says whether OpenChangeRequest would refuse the change
// request, and why.
type ReviewChangeCheck struct {
	Refused bool
	Reason  string
}

// CheckReviewChange answers whether the change request a committee member
// asked for can be opened. OpenChangeRequest refuses one nobody but the
// requester could review or approve (or whose requester has left, or whose
// policy is deprecated) with a non-retryable error, which would fail the
// review's child after the review had recorded it as requested; here that
// refusal is an answer the review records and shows the officer. Any other
// error (the database) is an error, retried.
func (a *Activities) CheckReviewChange(ctx context.Context, in ReviewChangeCheckInput) (ReviewChangeCheck, error) {
	err := directory.CheckActive(ctx, a.DB, in.RequesterID)
	if err == nil {
		err = policychange.CheckChangeApprovers(ctx, a.DB, in.PolicyID, in.RequesterID, in.Kind)
	}
	if reason, ok := refusal.Reason(err); ok {
		return ReviewChangeCheck{Refused: true, Reason: reason}, nil
	}
	return ReviewChangeCheck{}, err
}
