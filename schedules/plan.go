package schedules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// Kind is what a change does to a schedule.
type Kind string

// The kinds of change.
const (
	Create Kind = "create"
	Update Kind = "update"
	Delete Kind = "delete"
)

// Change is one step of a plan.
type Change struct {
	Kind       Kind     `json:"kind"`
	ScheduleID string   `json:"schedule_id"`
	Fields     []string `json:"fields,omitempty"` // what an update changes
	Cron       string   `json:"cron,omitempty"`
	TimeZone   string   `json:"time_zone,omitempty"`

	definition Definition
}

func (c Change) String() string {
	switch c.Kind {
	case Update:
		return fmt.Sprintf("update %s (%s)", c.ScheduleID, strings.Join(c.Fields, ", "))
	case Create:
		return fmt.Sprintf("create %s (%s, %s)", c.ScheduleID, c.Cron, c.TimeZone)
	default:
		return fmt.Sprintf("%s %s", c.Kind, c.ScheduleID)
	}
}

// Plan compares the desired schedules with the namespace. Schedules owned by
// the program and not desired are deleted; they are found by listing, and
// also among previous, the schedule IDs the last apply left, since a list
// can lag behind a create by a second or two. An existing schedule with a
// desired ID that the program does not own is a conflict, never taken over.
func Plan(ctx context.Context, c client.Client, desired []Desired, previous []string) ([]Change, error) {
	sc := c.ScheduleClient()
	var changes []Change
	want := map[string]bool{}
	for _, d := range desired {
		want[d.ScheduleID] = true
		desc, err := sc.GetHandle(ctx, d.ScheduleID).Describe(ctx)
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			changes = append(changes, Change{Kind: Create, ScheduleID: d.ScheduleID, Cron: d.Definition.Cron,
				TimeZone: d.Definition.TimeZone, definition: d.Definition})
			continue
		case err != nil:
			return nil, fmt.Errorf("describe schedule %s: %w", d.ScheduleID, err)
		}
		if !owned(desc.Memo) {
			return nil, fmt.Errorf("schedule %s exists but was not made by the program (no %s memo): delete or rename it first", d.ScheduleID, OwnerMemo)
		}
		current, _ := appliedDefinition(desc.Schedule.Action)
		if fields := diff(current, d.Definition); len(fields) > 0 {
			changes = append(changes, Change{Kind: Update, ScheduleID: d.ScheduleID, Fields: fields,
				Cron: d.Definition.Cron, TimeZone: d.Definition.TimeZone, definition: d.Definition})
		}
	}

	candidates := map[string]bool{}
	for _, id := range previous {
		candidates[id] = true
	}
	iter, err := sc.List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		if strings.HasPrefix(e.ID, IDPrefix) && owned(e.Memo) {
			candidates[e.ID] = true
		}
	}
	var deletes []string
	for id := range candidates {
		if want[id] {
			continue
		}
		// Confirm: the list may still show a schedule deleted a moment ago,
		// and previous may name one someone else since replaced.
		desc, err := sc.GetHandle(ctx, id).Describe(ctx)
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("describe schedule %s: %w", id, err)
		}
		if owned(desc.Memo) {
			deletes = append(deletes, id)
		}
	}
	sort.Strings(deletes)
	for _, id := range deletes {
		changes = append(changes, Change{Kind: Delete, ScheduleID: id})
	}
	return changes, nil
}

// Apply carries out a plan. It goes on past a failed change, so one bad
// schedule does not hold up the rest, and returns the changes made along with
// every failure; applying again retries what failed.
func Apply(ctx context.Context, c client.Client, plan []Change) ([]Change, error) {
	sc := c.ScheduleClient()
	var done []Change
	var errs []error
	for _, ch := range plan {
		var err error
		switch ch.Kind {
		case Create:
			_, err = sc.Create(ctx, client.ScheduleOptions{
				ID:            ch.ScheduleID,
				Spec:          *ch.definition.spec(),
				Action:        ch.definition.action(),
				Overlap:       overlap,
				CatchupWindow: catchupWindow,
				Memo:          map[string]any{OwnerMemo: OwnerProgram},
			})
		case Update:
			err = sc.GetHandle(ctx, ch.ScheduleID).Update(ctx, client.ScheduleUpdateOptions{
				DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					// The state (paused, note) is the operator's; only what
					// the file decides changes.
					s := in.Description.Schedule
					s.Spec = ch.definition.spec()
					s.Action = ch.definition.action()
					s.Policy = policies()
					return &client.ScheduleUpdate{Schedule: &s}, nil
				},
			})
		case Delete:
			err = sc.GetHandle(ctx, ch.ScheduleID).Delete(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ch, err))
			continue
		}
		done = append(done, ch)
	}
	return done, errors.Join(errs...)
}

func owned(memo *commonpb.Memo) bool {
	p := memo.GetFields()[OwnerMemo]
	if p == nil {
		return false
	}
	var owner string
	return converter.GetDefaultDataConverter().FromPayload(p, &owner) == nil && owner == OwnerProgram
}

// appliedDefinition reads the Definition an apply stored with the schedule;
// false if it has none (e.g. edited by hand), which plans an update.
func appliedDefinition(action client.ScheduleAction) (Definition, bool) {
	var d Definition
	wa, ok := action.(*client.ScheduleWorkflowAction)
	if !ok {
		return d, false
	}
	p, ok := wa.Memo[definitionMemo].(*commonpb.Payload)
	if !ok {
		return d, false
	}
	return d, converter.GetDefaultDataConverter().FromPayload(p, &d) == nil
}

// diff names the program-file fields in which two definitions differ.
func diff(a, b Definition) []string {
	var fields []string
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"schedule", [2]string{a.Cron, a.TimeZone}, [2]string{b.Cron, b.TimeZone}},
		{"process", [3]string{a.Workflow, a.WorkflowID, a.Run.Process}, [3]string{b.Workflow, b.WorkflowID, b.Run.Process}},
		{"due", a.Run.DuePeriod, b.Run.DuePeriod},
		{"remind_every", a.Run.RemindEvery, b.Run.RemindEvery},
		{"escalation", a.Run.Escalation, b.Run.Escalation},
		{"controls", a.Run.ControlIDs, b.Run.ControlIDs},
		{"scope", a.Run.Scope, b.Run.Scope},
		{"jitter", a.Jitter, b.Jitter},
	} {
		if !sameJSON(f.a, f.b) {
			fields = append(fields, f.name)
		}
	}
	if len(fields) == 0 && !sameJSON(a, b) {
		fields = append(fields, "definition")
	}
	return fields
}

// sameJSON compares values as the memo stores them.
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
