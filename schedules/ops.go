package schedules

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Summary is one schedule as `starter schedules list` shows it.
type Summary struct {
	ID       string
	Spec     string
	Workflow string
	// Location is the spec's time zone, for showing its times.
	Location *time.Location
	Paused   bool
	Note     string
	Owned    bool // made by the program file
	LastRun  *Run
	Next     []time.Time
}

// Run is a workflow a schedule started.
type Run struct {
	At         time.Time
	WorkflowID string
	RunID      string
	Status     string // Running, Completed, Failed, ...
}

// List describes every schedule of the namespace, sorted by ID.
func List(ctx context.Context, c client.Client) ([]Summary, error) {
	sc := c.ScheduleClient()
	iter, err := sc.List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []Summary
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		s, err := describe(ctx, c, e.ID)
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			continue // deleted since the list was taken
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func describe(ctx context.Context, c client.Client, id string) (Summary, error) {
	desc, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("describe schedule %s: %w", id, err)
	}
	s := Summary{ID: id, Owned: owned(desc.Memo), Next: desc.Info.NextActionTimes, Location: time.UTC}
	if spec := desc.Schedule.Spec; spec != nil && spec.TimeZoneName != "" {
		if loc, err := time.LoadLocation(spec.TimeZoneName); err == nil {
			s.Location = loc
		}
	}
	if st := desc.Schedule.State; st != nil {
		s.Paused, s.Note = st.Paused, st.Note
	}
	if wa, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		s.Workflow, _ = wa.Workflow.(string)
	}
	if def, ok := appliedDefinition(desc.Schedule.Action); ok {
		s.Spec = fmt.Sprintf("%s (%s)", def.Cron, def.TimeZone)
	} else if desc.Schedule.Spec != nil {
		s.Spec = formatSpec(*desc.Schedule.Spec)
	}
	if n := len(desc.Info.RecentActions); n > 0 {
		last := desc.Info.RecentActions[n-1]
		run := &Run{At: last.ActualTime}
		if r := last.StartWorkflowResult; r != nil {
			run.WorkflowID, run.RunID = r.WorkflowID, r.FirstExecutionRunID
			run.Status = workflowStatus(ctx, c, r.WorkflowID, r.FirstExecutionRunID)
		}
		s.LastRun = run
	}
	return s, nil
}

func workflowStatus(ctx context.Context, c client.Client, workflowID, runID string) string {
	resp, err := c.DescribeWorkflowExecution(ctx, workflowID, runID)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return "gone (past retention)"
	case err != nil:
		return "unknown: " + err.Error()
	}
	return strings.TrimPrefix(resp.GetWorkflowExecutionInfo().GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")
}

// Trigger starts the schedule's action now, even if a run is still open, so a
// process can be tried without waiting for its date.
func Trigger(ctx context.Context, c client.Client, id string) error {
	return c.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
	})
}

// Pause stops a schedule from starting runs; note says why.
func Pause(ctx context.Context, c client.Client, id, note string) error {
	return c.ScheduleClient().GetHandle(ctx, id).Pause(ctx, client.SchedulePauseOptions{Note: note})
}

// Unpause resumes a paused schedule; note says why.
func Unpause(ctx context.Context, c client.Client, id, note string) error {
	return c.ScheduleClient().GetHandle(ctx, id).Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
}

// formatSpec writes a spec not made by the program (so without a stored
// cron expression) as Temporal compiled it.
func formatSpec(spec client.ScheduleSpec) string {
	var parts []string
	for _, cal := range spec.Calendars {
		parts = append(parts, strings.Join([]string{
			formatRanges(cal.Minute, 0, 59), formatRanges(cal.Hour, 0, 23), formatRanges(cal.DayOfMonth, 1, 31),
			formatRanges(cal.Month, 1, 12), formatRanges(cal.DayOfWeek, 0, 6),
		}, " "))
	}
	for _, iv := range spec.Intervals {
		parts = append(parts, "every "+iv.Every.String())
	}
	parts = append(parts, spec.CronExpressions...)
	tz := spec.TimeZoneName
	if tz == "" {
		tz = "UTC"
	}
	return fmt.Sprintf("%s (%s)", strings.Join(parts, "; "), tz)
}

func formatRanges(rs []client.ScheduleRange, lo, hi int) string {
	if len(rs) == 0 {
		return "*"
	}
	var out []string
	for _, r := range rs {
		end := r.End
		if end < r.Start {
			end = r.Start
		}
		s := fmt.Sprint(r.Start)
		switch {
		case r.Start == lo && end == hi:
			s = "*"
		case end > r.Start:
			s = fmt.Sprintf("%d-%d", r.Start, end)
		}
		if r.Step > 1 {
			s += fmt.Sprintf("/%d", r.Step)
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}
