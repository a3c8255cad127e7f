// Package campaign runs acknowledgement and training campaigns: one
// Campaign workflow per campaign, never one per person (DESIGN "Campaign
// workflows"; issue 11). It opens the campaign, assigns everyone in the
// audience in one statement, notifies them in batches, then on timers
// reminds, escalates as digests and closes leavers, each round reading who
// is still pending from Postgres, where the portal records signatures
// directly. It ends when nobody is pending.
package campaign

import (
	"strings"
	"time"

	act "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/workflows"
)

// WorkflowName is the registered workflow type.
const WorkflowName = "Campaign"

// SignalAddPeople adds people to a running campaign (a cohort of new hires
// starting the same day); its payload is []string of person IDs.
const SignalAddPeople = "add-people"

// Input starts a campaign. A schedule hands it a workflows.ScheduledRun,
// whose fields it embeds (Process says the kind, Scope the policies,
// DuePeriod the period); the starter, a material change and new hires fill
// the rest.
type Input struct {
	workflows.ScheduledRun
	Kind string `json:",omitempty"`
	// People is the exact audience (new hires), when set.
	People []string `json:",omitempty"`
	// DueFromStart: the period runs from each person's start date, and the
	// campaign waits for NotBefore (the start date) to send.
	DueFromStart bool      `json:",omitempty"`
	NotBefore    time.Time `json:",omitempty"`
	Reason       string    `json:",omitempty"`
	StartedBy    string    `json:",omitempty"`
	// BatchSize overrides the send batch (tests; 0: the default).
	BatchSize int `json:",omitempty"`
	// RoundsPerRun is how many rounds one run takes before it continues as
	// new (0: DefaultRoundsPerRun); Temporal's own suggestion also counts.
	RoundsPerRun int `json:",omitempty"`
	// State carries a run continued as new.
	State *State `json:",omitempty"`
}

// DefaultRoundsPerRun keeps a run's history short: each round is a handful
// of activities, so 50 rounds stay far below Temporal's limits.
const DefaultRoundsPerRun = 50

// State is what a campaign has done, carried across continue-as-new.
type State struct {
	OpenedAt   time.Time
	Opened     act.Opened
	Reminders  int // reminders sent
	Escalated  int // escalation steps taken
	Counts     act.Counts
	LastRound  time.Time
	RunsBefore int
}

// Definition is the campaign as its activities record it.
func (in Input) Definition(id string) act.Definition {
	kind := in.Kind
	if kind == "" {
		kind = act.KindOf(in.Process)
	}
	startedBy := in.StartedBy
	if startedBy == "" {
		startedBy = "schedule:" + in.ObligationID
	}
	reason := in.Reason
	if reason == "" && in.ObligationID != "" {
		reason = "the obligation " + in.ObligationID + " of the program file"
	}
	return act.Definition{ID: id, Kind: kind, ObligationID: in.ObligationID, Policies: in.Scope, Training: in.Training,
		Departments: in.Departments, People: in.People, Due: in.DuePeriod, DueFromStart: in.DueFromStart,
		Reason: reason, StartedBy: startedBy, Controls: in.ControlIDs}
}

// Stages of a campaign, as its status reports them.
const (
	StageOpening = "opening"
	StageWaiting = "waiting for the start date"
	StageSending = "sending"
	StageRunning = "running"
	StageClosed  = "closed"
)

// Status is the answer to the status query: the stage, and the counts as
// of the last round (`starter campaign status` reads them live).
type Status struct {
	ID          string
	Stage       string
	Title       string
	DueAt       time.Time
	Counts      act.Counts
	Reminders   int
	Escalations int
	NextRound   time.Time
}

// ID makes a campaign ID for a campaign started by a person at a time:
// campaign/<kind>/<UTC time to the second>.
func ID(kind string, at time.Time) string {
	return "campaign/" + kind + "/" + at.UTC().Format("20060102T150405Z")
}

// ReacknowledgementID is the campaign a material change opens.
func ReacknowledgementID(policyID, version string) string {
	return "campaign/reacknowledgement/" + policyID + "/" + strings.ReplaceAll(version, " ", "-")
}

// NewHiresID is the campaign for the new hires of one obligation starting
// on one day.
func NewHiresID(obligationID string, start time.Time) string {
	return newHiresPrefix(obligationID) + start.Format("2006-01-02")
}

func newHiresPrefix(obligationID string) string { return "campaign/new-hires/" + obligationID + "/" }
