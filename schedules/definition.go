// Package schedules keeps the namespace's Temporal Schedules in line with the
// program file: one schedule per obligation, created, updated and deleted by
// a plan that is printed before it is applied. It also lists, triggers and
// pauses schedules for `starter schedules`.
package schedules

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/complyflow/complyflow/program"
	"github.com/complyflow/complyflow/workflows"
)

const (
	// IDPrefix starts the ID of every schedule made from the program file.
	IDPrefix = "complyflow/"
	// OwnerMemo, set to OwnerProgram in a schedule's memo, marks it as the
	// program's: only those are ever deleted by an apply.
	OwnerMemo    = "complyflow-owner"
	OwnerProgram = "program"
	// definitionMemo carries the Definition in the action's memo, the only
	// memo an update can change.
	definitionMemo = "complyflow-definition"
)

// ID is the schedule ID of an obligation.
func ID(obligationID string) string { return IDPrefix + obligationID }

// Definition is everything about a schedule the program file decides. It is
// kept with the schedule, so a plan compares the file with what was applied,
// not with Temporal's compiled form of the spec.
type Definition struct {
	Cron     string
	TimeZone string
	Workflow string
	// WorkflowID is the ID of the started workflows; Temporal appends the
	// scheduled time to it.
	WorkflowID string
	Run        workflows.ScheduledRun
	// TaskQueue is the queue the started workflows run on.
	TaskQueue string
	// Jitter delays each run by a random time up to it (the obligation's
	// jitter: a random backup-restore test).
	Jitter time.Duration `json:",omitempty"`
}

// Desired is a schedule as the program file wants it.
type Desired struct {
	ScheduleID string
	Definition Definition
}

// FromProgram is the schedule of every obligation of p, each starting its
// workflow on the task queue.
func FromProgram(p *program.Program, queue string) []Desired {
	out := make([]Desired, len(p.Obligations))
	for i, o := range p.Obligations {
		out[i] = Desired{
			ScheduleID: ID(o.ID),
			Definition: Definition{
				Cron:       o.Schedule.Cron,
				TimeZone:   o.Schedule.TimeZone,
				Workflow:   o.Workflow,
				WorkflowID: o.Process + "/" + o.ID,
				Run:        o.Run(),
				TaskQueue:  queue,
				Jitter:     o.Jitter,
			},
		}
	}
	return out
}

func (d Definition) spec() *client.ScheduleSpec {
	return &client.ScheduleSpec{CronExpressions: []string{d.Cron}, TimeZoneName: d.TimeZone, Jitter: d.Jitter}
}

func (d Definition) action() *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:        d.WorkflowID,
		Workflow:  d.Workflow,
		Args:      []any{d.Run},
		TaskQueue: d.TaskQueue,
		Memo:      map[string]any{definitionMemo: d},
	}
}

// A run still open when the next is due is not doubled, and a run missed
// while the server was down still happens if it is back within a week.
const (
	overlap       = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
	catchupWindow = 7 * 24 * time.Hour
)

func policies() *client.SchedulePolicies {
	return &client.SchedulePolicies{Overlap: overlap, CatchupWindow: catchupWindow}
}
