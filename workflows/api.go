// Package workflows holds complyflow's Temporal workflows. This file is the
// contract shared with the worker, the starter and the portal: the task queue,
// workflow IDs, message names, and the inputs and results of each workflow.
package workflows

import (
	"strings"
	"time"

	"github.com/complyflow/complyflow/activities"
)

// TaskQueue is the one task queue every complyflow worker polls.
const TaskQueue = "complyflow"

// HumanTask messages.
const (
	// HumanTaskWorkflow is the HumanTask workflow's registered name, so parents
	// start it as a child by name.
	HumanTaskWorkflow = "HumanTask"
	// UpdateComplete completes a human task; its validator admits only an
	// allowed action, only from someone entitled, only once.
	UpdateComplete = "complete"
	// QueryStatus answers the current state of a workflow.
	QueryStatus = "status"
)

// Action is what a person may do to a human task.
type Action string

// The actions a human task may offer.
const (
	ActionDone        Action = "done"
	ActionApprove     Action = "approve"
	ActionReject      Action = "reject"
	ActionAcknowledge Action = "acknowledge"
)

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
	}
	return string(a)
}

// NeedsNote reports whether the action requires a note (a rejection must say why).
func (a Action) NeedsNote() bool { return a == ActionReject }

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

// HumanTaskInput starts a HumanTask child workflow. Its workflow ID is TaskID.
type HumanTaskInput struct {
	TaskID      string
	AssigneeID  string
	Subject     string
	Body        string // Markdown
	Due         time.Time
	RemindEvery time.Duration // zero: no reminders
	Escalation  []EscalationStep
	Actions     []Action
	ControlID   string // the control this task evidences
	ParentRef   string // the parent workflow's ID
	// State is set only by the workflow itself when it continues as new; a
	// parent leaves it nil.
	State *HumanTaskState `json:",omitempty"`
}

// CompleteRequest is the argument of UpdateComplete.
type CompleteRequest struct {
	Action   Action
	PersonID string
	Note     string
}

// TaskOutcome is what a completed human task returns to its parent.
type TaskOutcome struct {
	TaskID string
	Action Action
	By     string
	At     time.Time
	Note   string
}

// TaskStatus answers QueryStatus on a HumanTask.
type TaskStatus struct {
	TaskID     string
	AssigneeID string
	Due        time.Time
	Entitled   []string // who may act now: the assignee and everyone escalated to
	Reminders  int
	Escalated  int
	Outcome    *TaskOutcome
}

// HumanTaskID is the deterministic ID of a task a parent workflow creates for
// one purpose, so a retried start is refused rather than duplicated.
func HumanTaskID(parentID, purpose string) string {
	return "task/" + strings.TrimPrefix(parentID, "task/") + "/" + purpose
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
}

// Processes a program-file obligation may name. A Temporal Schedule made from
// the obligation starts the process's workflow type with a ScheduledRun; the
// program file is rejected if it names a process missing here, so each process
// issue adds its line when its workflow is registered on the worker.
const (
	ProcessAnnualPolicyReview = activities.ProcessAnnualPolicyReview
	// AnnualPolicyReviewWorkflow is the registered name of the annual policy
	// review workflow.
	AnnualPolicyReviewWorkflow = "AnnualPolicyReview"
)

// ProcessWorkflows maps a process name used in the program file to the
// workflow type a schedule starts for it.
var ProcessWorkflows = map[string]string{
	ProcessAnnualPolicyReview: AnnualPolicyReviewWorkflow,
}

// Policy lifecycle (policy-management: review and maintenance, versioning,
// exceptions). The workflow ID of each is its record's ID in Postgres.
const (
	PolicyChangeRequestWorkflow = "PolicyChangeRequest"
	PolicyExceptionWorkflow     = "PolicyException"
)

// PolicyChangeRequestID names a change request; suffix tells requests of
// one policy apart (a timestamp, or the annual review and reviewer).
func PolicyChangeRequestID(policyID, suffix string) string {
	return "change-request/" + policyID + "/" + suffix
}

// PolicyExceptionID names an exception request.
func PolicyExceptionID(policyID, suffix string) string {
	return "policy-exception/" + policyID + "/" + suffix
}

// PolicyChangeInput starts a PolicyChangeRequest. Kind is "material" (a new
// version YYYY.N, which also needs the CEO or designee) or "minor" (a
// revision). Text is the proposed policy text; Reference a pull request or
// document that holds it.
type PolicyChangeInput struct {
	PolicyID              string
	Kind                  string
	Summary               string
	Text                  string
	Reference             string
	NeedsProductionChange bool
	RequesterID           string
	ReviewID              string        // the annual review that asked for the change, if any
	DuePeriod             time.Duration // each task's time to answer; zero means 7 days
	RemindEvery           time.Duration // zero means every 2 days
}

// Change request stages, as its status query reports them.
const (
	StageInReview                 = "in-review"
	StageReturned                 = "returned"
	StageAwaitingSecondApproval   = "awaiting-second-approval"
	StageAwaitingEngineering      = "awaiting-engineering-approval"
	StageAwaitingProductionChange = "awaiting-production-change"
	StagePublishing               = "publishing"
	StagePublished                = "published"
	StageWithdrawn                = "withdrawn"
)

// Decision is one person's answer to one of a process's tasks.
type Decision struct {
	Step   string
	TaskID string
	By     string
	Action Action
	Note   string
	At     time.Time
}

// ChangeRound is one submission of a change request and the decisions on it.
type ChangeRound struct {
	Round     int
	Submitted time.Time
	Note      string
	Decisions []Decision
}

// PolicyChangeStatus answers QueryStatus on a PolicyChangeRequest and is its result.
type PolicyChangeStatus struct {
	RequestID           string
	PolicyID            string
	Kind                string
	Stage               string
	OpenTask            string
	Rounds              []ChangeRound
	ProductionChangeRef string
	Version             string // published
	ArchivedVersion     string
	PublishedAt         time.Time
	Announced           int // people emailed
}

// PolicyExceptionInput starts a PolicyException. A renewal continues as new
// with Round incremented and the same term.
type PolicyExceptionInput struct {
	PolicyID    string
	RequesterID string
	Purpose     string // the business purpose
	Reason      string // why the policy requirement cannot be met
	Expires     time.Time
	Round       int // 0 or 1 for the request; 2 onwards for renewals
	DuePeriod   time.Duration
	RemindEvery time.Duration
}

// Exception stages.
const (
	StageAwaitingApproval = "awaiting-approval"
	StageApproved         = "approved"
	StageRejected         = "rejected"
	StageReEvaluation     = "re-evaluation"
	StageExpired          = "expired"
	StageRenewing         = "renewing"
	StageClosed           = "closed"
)

// PolicyExceptionStatus answers QueryStatus on a PolicyException and is its result.
type PolicyExceptionStatus struct {
	ExceptionID string
	PolicyID    string
	Stage       string
	Round       int
	ApprovedAt  time.Time
	ExpiresAt   time.Time
	Reminders   int
	Decisions   []Decision
}

// AnnualPolicyReviewStatus answers QueryStatus on an AnnualPolicyReview and is its result.
type AnnualPolicyReviewStatus struct {
	ReviewID       string
	Stage          string
	Round          int
	Policies       []string
	Reviewed       []Decision // Step is the policy ID, By the committee member
	ChangeRequests []string
	Changed        map[string]string // change request ID -> the version it published
}

// Processes people start (a form, a CLI command) rather than a schedule. A
// control in the program file may name them as its evidence; an obligation
// may not, since no schedule starts them.
const (
	ProcessPolicyChangeRequest = activities.ProcessPolicyChangeRequest
	ProcessPolicyException     = activities.ProcessPolicyException
)

// OnDemandProcesses is every process people start, by name.
var OnDemandProcesses = map[string]bool{
	ProcessPolicyChangeRequest: true,
	ProcessPolicyException:     true,
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
}

// WithdrawRequest is the argument of UpdateWithdraw.
type WithdrawRequest struct {
	PersonID string
	Note     string
}
