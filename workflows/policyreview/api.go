// Package policyreview is the annual policy review of policy management §6,
// started by the program's schedule: the officer opens it, every committee
// member reviews the policies in scope, each change they ask for becomes a
// change request (workflows/policychange) as a child, and the officer signs
// off or rejects it back for another round.
package policyreview

import (
	"time"

	act "github.com/complyflow/complyflow/activities/policyreview"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// Process is the name obligations and controls in the program file give the
// annual policy review.
const Process = act.Process

// WorkflowName is the annual review workflow's registered name.
const WorkflowName = "AnnualPolicyReview"

// A review's stage is its record's status (act.Status*), or one of two the
// record does not show: waiting for the officer to open it, and waiting for
// the officer's sign-off.
const (
	StageOpening         = "opening"
	StageAwaitingSignOff = "awaiting-sign-off"
)

// PolicyReviewed is one committee member's review of one policy.
type PolicyReviewed struct {
	PolicyID string
	TaskID   string
	By       string
	Action   humantask.Action // approve: no change; reject: change asked for
	Note     string
	At       time.Time
}

// Status answers QueryStatus on an AnnualPolicyReview and is its result.
type Status struct {
	ReviewID       string
	Stage          string
	Round          int
	Policies       []string
	Reviewed       []PolicyReviewed
	ChangeRequests []string
	Changed        map[string]string // change request ID -> the version it published
}
