// Package policyexception is a policy exception of policy management §5:
// documented business purpose and reason, approval by both the Security
// Officer and the COO, a term of at most a year from approval, reminders
// ahead of the expiry, and a re-evaluation that renews or closes it.
package policyexception

import (
	"time"

	act "github.com/complyflow/complyflow/activities/policyexception"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// Process is the name the program file's controls know an exception by.
const Process = act.Process

// WorkflowName is the exception workflow's registered name.
const WorkflowName = "PolicyException"

// ID names an exception request.
func ID(policyID, suffix string) string {
	return "policy-exception/" + policyID + "/" + suffix
}

// Input starts a PolicyException. A renewal continues as new with Round
// incremented and the same term.
type Input struct {
	PolicyID    string
	RequesterID string
	// ActedBy is who filed the request for RequesterID when it was not the
	// requester themself, e.g. "cli:alice on behalf of eve"; the audit log
	// records it as the request's actor. Empty when the requester filed it.
	ActedBy     string
	Purpose     string // the business purpose
	Reason      string // why the policy requirement cannot be met
	Expires     time.Time
	Round       int // 0 or 1 for the request; 2 onwards for renewals
	DuePeriod   time.Duration
	RemindEvery time.Duration
}

// An exception's stage is its record's status (act.Status*), or one of two
// the record does not show: being re-evaluated ahead of its expiry, and a
// renewal awaiting approval while the term before it still runs.
const (
	StageReEvaluation = "re-evaluation"
	StageRenewing     = "renewing"
)

// Status answers QueryStatus on a PolicyException and is its result.
type Status struct {
	ExceptionID string
	PolicyID    string
	Stage       string
	Round       int
	ApprovedAt  time.Time
	ExpiresAt   time.Time
	Reminders   int
	Decisions   []humantask.Decision
}
