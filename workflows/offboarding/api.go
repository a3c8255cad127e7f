// Package offboarding removes a leaver's access from every system in the
// inventory (controls lists A and B: "Upon termination or when internal
// personnel no longer require access, system access is removed"): one
// removal step per system, by a task to its owner or a connector (signed
// webhook, SCIM 2.0), each with a deadline from the program file,
// reminders and escalation; the leaver's open tasks go to their manager;
// the run ends only once every system is confirmed, or when a manager or
// officer cancels it.
package offboarding

import (
	"time"

	act "github.com/complyflow/complyflow/activities/offboarding"
)

// Process is the name the program file's controls know offboarding by.
const Process = act.Process

// WorkflowName is the offboarding workflow's registered name.
const WorkflowName = "Offboarding"

// HRFeed starts an offboarding when an import newly sets an end date.
const HRFeed = act.HRFeed

// ID names a person's offboarding: one at a time per person.
func ID(personID string) string { return "offboarding/" + personID }

// Updates an offboarding accepts.
const (
	// UpdateCancel ends the offboarding (rehire, mistake): a manager up the
	// chain or a security officer, with a reason.
	UpdateCancel = "cancel"
	// UpdateConnectorCallback is a webhook's later answer, delivered by the
	// portal from the signed callback URL.
	UpdateConnectorCallback = "connector-callback"
)

// Input starts an Offboarding.
type Input struct {
	PersonID  string
	LastDay   string // YYYY-MM-DD; access goes after its end (00:00 UTC the day after)
	StartedBy string // a person ID, or HRFeed
	ActedBy   string // see act.OpenInput.ActedBy
	Reason    string
}

// CancelRequest is the argument of UpdateCancel.
type CancelRequest struct {
	By      string
	Reason  string
	ActedBy string `json:",omitempty"` // "cli:alice on behalf of m"
}

// CallbackRequest is the argument of UpdateConnectorCallback: Status is
// "removed", or anything else with Reason for a removal the system could not
// make (the owner gets a task).
type CallbackRequest struct {
	SystemID   string
	Status     string
	Reason     string
	BodySHA256 string
}

// Step states, as SystemStatus.State shows them.
const (
	StateWaiting  = "waiting"  // for the last day (tasks) or its end (connectors)
	StateCalling  = "calling"  // the connector
	StateCallback = "callback" // the webhook accepted; its callback is awaited
	StateTask     = "task"     // the owner's task is open
	StateDone     = "done"
)

// SystemStatus is one system's removal step.
type SystemStatus struct {
	SystemID string
	Method   string
	Deadline time.Time
	State    string
	TaskID   string `json:",omitempty"`
	Fallback string `json:",omitempty"` // why a connector's removal became a task
	Outcome  string `json:",omitempty"`
	By       string `json:",omitempty"`
	At       time.Time
	Met      bool
}

// Status answers QueryStatus on an Offboarding and is its result.
type Status struct {
	OffboardingID string
	PersonID      string
	LastDay       string
	Stage         string // act.StatusOpen, StatusCompleted, StatusCancelled
	Systems       []SystemStatus
	Reassigned    []string // the leaver's tasks handed to their manager
	CancelledBy   string   `json:",omitempty"`
	CancelReason  string   `json:",omitempty"`
}
