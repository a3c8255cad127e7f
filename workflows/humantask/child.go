package humantask

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/workflows"
)

// Defaults for a child task whose parent gives no due period or cadence.
const (
	DefaultDue    = 7 * 24 * time.Hour
	DefaultRemind = 2 * 24 * time.Hour
)

// Child is a human task as a parent workflow hands it out.
type Child struct {
	Purpose    string // unique within the parent; part of the task's workflow ID
	Assignee   string
	Subject    string
	Body       string
	Actions    []Action
	Escalation []workflows.EscalationStep
	Controls   []string      // every control the task evidences
	Due        time.Duration // from now; zero: DefaultDue
	Remind     time.Duration // zero: DefaultRemind
	Form       *Form         // nil: no form
}

// Start runs the task as a HumanTask child, by name, with its deterministic
// ID, and answers the ID and the child's future.
func (t Child) Start(ctx workflow.Context) (string, workflow.ChildWorkflowFuture) {
	parent := workflow.GetInfo(ctx).WorkflowExecution.ID
	id := ID(parent, t.Purpose)
	due, remind := t.Due, t.Remind
	if due <= 0 {
		due = DefaultDue
	}
	if remind <= 0 {
		remind = DefaultRemind
	}
	// A parent that gives the task up waits for it to record its
	// cancellation; otherwise the parent could close first and terminate
	// the task, leaving it open in Postgres.
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id, WaitForCancellation: true})
	return id, workflow.ExecuteChildWorkflow(cctx, WorkflowName, Input{
		TaskID: id, AssigneeID: t.Assignee, Subject: t.Subject, Body: t.Body,
		Due: workflow.Now(ctx).Add(due), RemindEvery: remind, Escalation: t.Escalation,
		Actions: t.Actions, ControlIDs: t.Controls, ParentRef: parent, Form: t.Form,
	})
}

// Run starts the task and waits for its outcome.
func (t Child) Run(ctx workflow.Context) (Outcome, error) {
	id, f := t.Start(ctx)
	var out Outcome
	if err := f.Get(ctx, &out); err != nil {
		return Outcome{}, fmt.Errorf("task %s: %w", id, err)
	}
	out.TaskID = id
	return out, nil
}
