// Package workflows is the contract every complyflow process shares: the
// status query, escalation steps, and the input a Temporal
// Schedule hands the process it starts. Each process lives in its own package
// below (workflows/<process>), with its api.go, its workflow and its tests;
// the registry package lists them all.
package workflows

import (
	"time"

	dract "github.com/complyflow/complyflow/activities/drtest"

	"github.com/complyflow/complyflow/internal/refusal"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// QueryStatus answers the current state of any complyflow workflow.
const QueryStatus = "status"

// EscalateToManager in an EscalationStep means the assignee's manager, looked
// up when the step is reached.
const EscalateToManager = "@manager"

// EscalationStep hands a task to one more person After the due time has passed
// by that much. To is a person ID, EscalateToManager, or "role:NAME" for every
// holder of a program role (e.g. "role:security_officer"). Except names people
// the step never reaches, whoever To resolves to when it fires: the requester
// of the request the task decides (segregation of duties). It lets a step
// name a role, and so reach its holders of the day it fires, without
// reaching the requester.
type EscalationStep struct {
	After  time.Duration
	To     string
	Except []string `json:",omitempty"`
}

// ScheduledRun is the input a Temporal Schedule made from a program-file
// obligation hands to the process workflow it starts.
type ScheduledRun struct {
	ObligationID string
	Process      string
	DuePeriod    time.Duration
	RemindEvery  time.Duration
	Escalation   []EscalationStep
	ControlIDs   []string // controls this run evidences
	Scope        []string // e.g. the policy IDs in scope of a review
	// Departments narrow a campaign's audience; empty: everyone active.
	Departments []string `json:",omitempty"`
	// Training is the training a security-training campaign runs.
	Training string `json:",omitempty"`
	// Vendors is the vendor review's cadence (its obligation only).
	Vendors *VendorCadence `json:",omitempty"`
	// DR is the DR/BCP plan (the dr-test and backup-restore-test
	// obligations only, and required there).
	DR *dract.Plan `json:",omitempty"`
	// RiskTolerance is the highest residual score (likelihood x impact)
	// the program accepts without the CEO's sign-off (the annual risk
	// assessment's obligation only).
	RiskTolerance int `json:",omitempty"`
}

// VendorCadence is how often a vendor's report is asked for, by the vendor's
// criticality, and how long before the last report's coverage ends the next
// request goes out (controls list B: reviewed "on at least an annual basis").
type VendorCadence struct {
	MonthsByCriticality map[string]int
	RequestBeforeDays   int
}

// RecordOptions are for activities that write the records: they retry until
// Postgres answers, since a process must not fail for an outage; only bad
// input (a refusal) or an unknown person gives up.
var RecordOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		NonRetryableErrorTypes: []string{refusal.Type, "UnknownPerson"}},
}

// MessageOptions are for a plain message that is not a task (a reminder, a
// notice): 8 attempts, 21 to 29 minutes, then the process logs it as not
// sent and goes on; the message is a courtesy, the records are the evidence.
var MessageOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 15 * time.Minute,
		MaximumAttempts: 8, NonRetryableErrorTypes: []string{refusal.Type, "UnknownPerson"}},
}
