// Package riskassessment is the annual risk assessment over the risk
// register (controls lists A and B: "A formal annual risk assessment is
// performed and documented"; "A risk register is maintained"): every risk
// owner gets one task listing their risks to re-score (inherent and
// residual), to confirm or change the treatment with a justification and
// to link controls, and may propose new risks; the security officer reviews
// and signs off or sends it back with a note; an accepted risk whose
// residual score is above the program's risk_tolerance needs the officer's
// and the CEO's sign-off and an expiry, after which its owner reviews it
// again, so an acceptance never silently goes stale.
package riskassessment

import (
	"time"

	act "github.com/complyflow/complyflow/activities/riskassessment"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// Process is the name the program file knows the assessment by.
const Process = act.Process

// WorkflowName is the registered workflow's name.
const WorkflowName = "AnnualRiskAssessment"

// ID names an assessment started by hand (`starter risk-assessment start
// --name NAME`, the year by default), so a second start of it is refused.
func ID(name string) string { return Process + "/" + name }

// Stages of an assessment, as its status reports them.
const (
	StageScoring     = "scoring"     // the owners' tasks are open
	StageReview      = "review"      // the officer reviews
	StageAcceptances = "acceptances" // signed off; acceptances above tolerance open or waiting for their expiry
	StageDone        = "done"
)

// Acceptance is an accepted risk above tolerance as both signed it.
type Acceptance struct {
	RiskID    string
	ExpiresOn time.Time
}

// Status answers QueryStatus and is the workflow's result.
type Status struct {
	AssessmentID string
	Year         int
	Tolerance    int
	Stage        string
	Round        int
	Proposed     []string // risk IDs the owners added
	Decisions    []humantask.Decision
	Acceptances  []Acceptance
	ReReviews    []string // risk IDs re-reviewed after an expiry or a refused acceptance
}
