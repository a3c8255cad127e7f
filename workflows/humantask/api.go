// Package humantask is the one reusable human task: a child workflow that
// records a task, tells the assignee by email and Slack, reminds on a
// cadence, escalates after the due time and returns the outcome once someone
// entitled completes it (the complete Update, validated). Parents start it
// through Child; the portal and the starter complete it through Complete.
package humantask

import (
	"strings"
	"time"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/workflows"
)

// WorkflowName is the HumanTask workflow's registered name, so parents start
// it as a child by name.
const WorkflowName = "HumanTask"

// UpdateComplete completes a human task; its validator admits only an
// allowed action, only from someone entitled, only once.
const UpdateComplete = "complete"

// Action is what a person may do to a human task.
type Action string

// The actions a human task may offer.
const (
	ActionDone        Action = "done"
	ActionApprove     Action = "approve"
	ActionReject      Action = "reject"
	ActionAcknowledge Action = "acknowledge"
	// An access removal (offboarding): the owner removed the leaver's
	// access, or found they had no account.
	ActionRemoved   Action = "removed"
	ActionNoAccount Action = "no-account"
)

// Actions is every action a task may offer.
var Actions = []Action{ActionDone, ActionApprove, ActionReject, ActionAcknowledge, ActionRemoved, ActionNoAccount}

// Past is the action as a finished deed, for "Approved by Sam at ...".
func (a Action) Past() string {
	switch a {
	case ActionDone:
		return "Done"
	case ActionApprove:
		return "Approved"
	case ActionReject:
		return "Rejected"
	case ActionAcknowledge:
		return "Acknowledged"
	case ActionRemoved:
		return "Access removed"
	case ActionNoAccount:
		return "No account found"
	}
	return string(a)
}

// Label is the action as a button says it.
func (a Action) Label() string { return taskact.ActionLabel(string(a)) }

// NeedsNote reports whether the action requires a note (a rejection must say why).
func (a Action) NeedsNote() bool { return a == ActionReject }

// Input starts a HumanTask child workflow. Its workflow ID is TaskID.
type Input struct {
	TaskID      string
	AssigneeID  string
	Subject     string
	Body        string // Markdown
	Due         time.Time
	RemindEvery time.Duration // zero: no reminders
	Escalation  []workflows.EscalationStep
	Actions     []Action
	ControlIDs  []string // every control this task evidences
	ParentRef   string   // the parent workflow's ID
	// Form, when set, is what completing with one of its actions must fill
	// in; the values come back in the Outcome.
	Form *Form `json:",omitempty"`
	// State is set only by the workflow itself when it continues as new; a
	// parent leaves it nil.
	State *State `json:",omitempty"`
}

// SignalReassign gives an open task to one more person: the assignee has
// left (offboarding hands a leaver's open tasks to their manager). The
// assignee's record stays; the task records the reassignment and tells the
// new holder.
const SignalReassign = "reassign"

// ReassignRequest is the argument of SignalReassign.
type ReassignRequest struct {
	To     string // a person ID
	Reason string
	By     string // who reassigned it, e.g. the offboarding's workflow ID
}

// CompleteRequest is the argument of UpdateComplete.
type CompleteRequest struct {
	Action   Action
	PersonID string
	Note     string
	// ActedBy names who acted when it was not the person themselves: an
	// operator through the CLI, "cli:<user> on behalf of <person>". The
	// audit log names them; the outcome stays the person's.
	ActedBy string `json:",omitempty"`
	// Values fill the task's form, when it has one.
	Values Values `json:",omitempty"`
}

// Outcome is what a completed human task returns to its parent.
type Outcome struct {
	TaskID string
	Action Action
	By     string
	At     time.Time
	Note   string
	Values Values `json:",omitempty"`
}

// Status answers QueryStatus on a HumanTask.
type Status struct {
	TaskID     string
	AssigneeID string
	Due        time.Time
	Entitled   []string // who may act now: the assignee and everyone escalated to
	Reminders  int
	Escalated  int
	Outcome    *Outcome
}

// Decision is one person's answer to one of a process's tasks, as the
// process's status reports it. Step names the task's part in the process
// ("review", "second-approval", "security_officer").
type Decision struct {
	Step   string
	TaskID string
	By     string
	Action Action
	Note   string
	At     time.Time
}

// DecisionOf is the decision an outcome records for step.
func DecisionOf(step string, out Outcome) Decision {
	return Decision{Step: step, TaskID: out.TaskID, By: out.By, Action: out.Action, Note: out.Note, At: out.At}
}

// ID is the deterministic ID of a task a parent workflow creates for one
// purpose, so a retried start is refused rather than duplicated.
func ID(parentID, purpose string) string {
	return "task/" + strings.TrimPrefix(parentID, "task/") + "/" + purpose
}
