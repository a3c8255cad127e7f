// Package policychange is the policy change request of policy management §3:
// officer review, rejection back to the requester as often as it takes, the
// CEO's (or designee's) approval of a material change and the Head of
// Engineering's of a product development policy, the change-management
// reference when production must change, then archive-and-publish, the
// announcement, and for a material change the re-acknowledgement it owes.
package policychange

import (
	"time"

	act "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// Process is the name the program file's controls know a change request by.
const Process = act.Process

// WorkflowName is the change request workflow's registered name.
const WorkflowName = "PolicyChangeRequest"

// ID names a change request; suffix tells requests of one policy apart (a
// digest of the request, or the annual review and reviewer).
func ID(policyID, suffix string) string {
	return "change-request/" + policyID + "/" + suffix
}

// Input starts a PolicyChangeRequest. Kind is "material" (a new version
// YYYY.N, which also needs the CEO or designee) or "minor" (a revision). Text
// is the proposed policy text; Reference a pull request or document that
// holds it.
type Input struct {
	PolicyID              string
	Kind                  string
	Summary               string
	Text                  string
	Reference             string
	NeedsProductionChange bool
	RequesterID           string
	// ActedBy is who filed the request for RequesterID when it was not the
	// requester themself, e.g. "cli:alice on behalf of eve" for an operator
	// running `starter change-request --as eve`; the audit log records it
	// as the request's actor. Empty when the requester filed it.
	ActedBy     string
	ReviewID    string        // the annual review that asked for the change, if any
	DuePeriod   time.Duration // each task's time to answer; zero means 7 days
	RemindEvery time.Duration // zero means every 2 days
}

// Round is one submission of a change request and the decisions on it.
type Round struct {
	Round     int
	Submitted time.Time
	Note      string
	Decisions []humantask.Decision
}

// Status answers QueryStatus on a PolicyChangeRequest and is its result.
// Stage is one of the act.Status* values: the stage the workflow is in is
// the status its record shows.
type Status struct {
	RequestID           string
	PolicyID            string
	Kind                string
	Stage               string
	OpenTask            string
	Rounds              []Round
	ProductionChangeRef string
	Version             string // published
	ArchivedVersion     string
	PublishedAt         time.Time
	Announced           int // people emailed
}

// PolicyChangeRequest updates: while a request is returned to its requester,
// the requester may resubmit it with new text or a new reference, or withdraw
// it, instead of answering the task (whose note can only carry a reference).
const (
	UpdateResubmit = "resubmit"
	UpdateWithdraw = "withdraw"
)

// ResubmitRequest is the argument of UpdateResubmit: new Text replaces the
// proposed text, a new Reference the old one; Note says what changed.
type ResubmitRequest struct {
	PersonID  string
	Text      string
	Reference string
	Note      string
	// ActedBy is who answers for PersonID when it is not them, e.g.
	// "cli:alice on behalf of eve"; the audit log records it as the actor.
	ActedBy string `json:",omitempty"`
}

// WithdrawRequest is the argument of UpdateWithdraw.
type WithdrawRequest struct {
	PersonID string
	Note     string
	ActedBy  string `json:",omitempty"` // as in ResubmitRequest
}
