package drtest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/drtest"
	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
)

var (
	drAct       *act.Activities
	taskAct     *taskact.Tasks
	messagesAct *notify.Messages
)

const day = 24 * time.Hour

// exerciseHour is when on its date an exercise is taken to start (UTC):
// the results task opens then.
const exerciseHour = 9 * time.Hour

// planUpdateWithin is how long the plan's owner has to update the plan
// after a failed test (controls: "Management uses test results to evaluate
// and update the plans").
const planUpdateWithin = 30 * day

// taskEscalation is how the tests' tasks escalate once overdue, as every
// person's task does: to the assignee's manager, then the security officer.
var taskEscalation = []workflows.EscalationStep{{After: 3 * day, To: workflows.EscalateToManager}, {After: 7 * day, To: "role:security_officer"}}

// Workflow runs one DR test from its planning to the closure of its last
// follow-up.
func Workflow(ctx workflow.Context, in Input) (Status, error) {
	if in.DR == nil {
		return Status{}, temporal.NewNonRetryableApplicationError("dr test: the run carries no DR plan (the program file's dr section)", refusal.Type, nil)
	}
	w := &drTest{in: in, plan: *in.DR, st: Status{TestID: workflow.GetInfo(ctx).WorkflowExecution.ID, Stage: act.StatusPlanning, Scenario: in.Scenario}}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (Status, error) { return w.st, nil }); err != nil {
		return Status{}, err
	}
	return w.run(ctx)
}

type drTest struct {
	in   Input
	plan act.Plan
	info act.Info
	st   Status
}

func (w *drTest) record(ctx workflow.Context, activity, input any, result any) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), activity, input).Get(ctx, result)
}

func (w *drTest) run(ctx workflow.Context) (Status, error) {
	if err := w.record(ctx, drAct.DRTestOpen, act.OpenInput{ID: w.st.TestID, Scenario: w.in.Scenario, Plan: w.plan,
		Controls: w.in.ControlIDs, At: workflow.Now(ctx)}, &w.info); err != nil {
		return w.st, err
	}
	people, err := w.participants(ctx)
	if err != nil {
		return w.st, err
	}
	if err := w.planExercise(ctx, people); err != nil {
		return w.st, err
	}
	if err := sleepUntil(ctx, w.st.Date.Add(exerciseHour)); err != nil {
		return w.st, err
	}
	r, err := w.results(ctx, people)
	if err != nil {
		return w.st, err
	}
	if err := w.followUps(ctx, r.findings); err != nil {
		return w.st, err
	}
	w.st.Stage = act.StatusClosed
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.st, err
	}
	return w.st, nil
}

// participants are the plan's role holders today, the coordinator and the
// plan's owner: who is told of the exercise and may own its findings.
func (w *drTest) participants(ctx workflow.Context) ([]string, error) {
	people := []string{w.plan.CoordinatorID}
	if w.plan.ParticipantsRole != "" {
		var res taskact.ResolveEscalationResult
		if err := w.record(ctx, taskAct.ResolveEscalation, taskact.ResolveEscalationInput{AssigneeID: w.plan.CoordinatorID,
			To: "role:" + w.plan.ParticipantsRole}, &res); err != nil {
			return nil, err
		}
		people = append(people, res.PersonIDs...)
	}
	people = append(people, w.plan.PlanOwnerID)
	slices.Sort(people)
	return slices.Compact(people), nil
}

// planExercise asks the coordinator for the date, scenario and systems,
// records them and tells every participant the date.
func (w *drTest) planExercise(ctx workflow.Context, people []string) error {
	proposed := ""
	if w.in.Scenario != "" {
		proposed = fmt.Sprintf(" The scenario proposed is %s.", w.in.Scenario)
	}
	out, err := humantask.Child{
		Purpose: "plan", Assignee: w.plan.CoordinatorID, Subject: "Plan the DR/BCP test " + w.st.TestID,
		Body: "The Business Continuity and Disaster Recovery plans are due a test." + proposed + "\n\n" +
			"Choose the exercise date, the scenario and the systems in scope; the participants are told the date.",
		Actions: []humantask.Action{humantask.ActionDone}, Controls: w.info.Controls, Form: planForm(w.info.Systems),
		Due: w.in.DuePeriod, Remind: w.in.RemindEvery, Escalation: taskEscalation,
	}.Run(ctx)
	if err != nil {
		return err
	}
	w.st.Decisions = append(w.st.Decisions, humantask.DecisionOf("plan", out))
	p := readPlan(out.Values)
	w.st.Date, w.st.Scenario, w.st.Systems = p.date, p.scenario, p.systems
	if err := w.record(ctx, drAct.DRTestPlanned, act.PlannedInput{ID: w.st.TestID, Date: p.date, Scenario: p.scenario,
		SystemIDs: p.systems, Participants: people, By: out.By, At: out.At, Controls: w.info.Controls}, nil); err != nil {
		return err
	}
	w.st.Stage = act.StatusScheduled
	// A notice is a courtesy: one that cannot be sent is logged, and the
	// test goes on (the record holds the plan).
	var sent int
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.MessageOptions), messagesAct.EmailPeople, notify.EmailPeopleInput{
		Key: w.st.TestID + "/scheduled", Purpose: "dr-test-scheduled", Ref: w.st.TestID, PersonIDs: people,
		Subject: fmt.Sprintf("DR/BCP test on %s: %s", p.date.Format(time.DateOnly), p.scenario),
		Text: fmt.Sprintf("A DR/BCP test is scheduled for %s (scenario: %s). Systems in scope: %s.\n\nCoordinator: %s.",
			p.date.Format(time.DateOnly), p.scenario, strings.Join(p.systems, ", "), w.plan.CoordinatorID),
		AuditAction: "dr-test.participants-notified", Controls: w.info.Controls,
	}).Get(ctx, &sent)
	if err != nil {
		workflow.GetLogger(ctx).Warn("DR test notice not sent", "test", w.st.TestID, "err", err)
	}
	return nil
}

// results asks the coordinator for the exercise's results and records them
// against the targets; a failed test adds the plan owner's plan update.
func (w *drTest) results(ctx workflow.Context, people []string) (results, error) {
	var targets []string
	for _, s := range w.info.Systems {
		if slices.Contains(w.st.Systems, s.ID) {
			rto, rpo, _ := act.Target(w.plan, s)
			targets = append(targets, fmt.Sprintf("- %s: RTO %s, RPO %s", s.ID, rto, rpo))
		}
	}
	out, err := humantask.Child{
		Purpose: "results", Assignee: w.plan.CoordinatorID, Subject: "Record the results of the DR/BCP test " + w.st.TestID,
		Body: fmt.Sprintf("The exercise (%s) was due on %s. The recovery targets:\n\n%s\n\n"+
			"Record, for each system, the recovery time and data loss window achieved and whether data integrity was checked; "+
			"pass or fail; and each finding with its owner and due date.", w.st.Scenario, w.st.Date.Format(time.DateOnly), strings.Join(targets, "\n")),
		Actions: []humantask.Action{humantask.ActionDone}, Controls: w.info.Controls, Form: resultsForm(w.info.Systems, people),
		Due: w.in.DuePeriod, Remind: w.in.RemindEvery, Escalation: taskEscalation,
	}.Run(ctx)
	if err != nil {
		return results{}, err
	}
	w.st.Decisions = append(w.st.Decisions, humantask.DecisionOf("results", out))
	r := readResults(out.Values)
	if !r.passed {
		r.findings = append(r.findings, act.Finding{N: len(r.findings) + 1, Kind: "plan-update", OwnerID: w.plan.PlanOwnerID,
			Title: "Update the DR/BCP plan after the failed test " + w.st.TestID, Due: out.At.Add(planUpdateWithin).Truncate(day)})
	}
	for i := range r.findings {
		r.findings[i].TaskID = humantask.ID(w.st.TestID, fmt.Sprintf("follow-up/%d", r.findings[i].N))
	}
	if err := w.record(ctx, drAct.DRTestResults, act.ResultsInput{ID: w.st.TestID, Plan: w.plan, Systems: r.systems, Passed: r.passed,
		Notes: r.notes, Findings: r.findings, By: out.By, At: out.At, Controls: w.info.Controls}, &w.st.Measured); err != nil {
		return results{}, err
	}
	w.st.Passed = r.passed
	return r, nil
}

// followUps hands each finding to its owner as a task due on its date and
// records each closed; the test closes when the last one is.
func (w *drTest) followUps(ctx workflow.Context, findings []act.Finding) error {
	if len(findings) == 0 {
		return nil
	}
	w.st.Stage = act.StatusFollowUps
	futures := make([]workflow.ChildWorkflowFuture, len(findings))
	for i, f := range findings {
		due := f.Due.Add(17 * time.Hour).Sub(workflow.Now(ctx)) // the end of the working day, UTC
		if due < day {
			due = day
		}
		body := fmt.Sprintf("The DR/BCP test %s (%s, %s) found:\n\n%s\n\nMark it done once it is fixed.",
			w.st.TestID, w.st.Scenario, w.st.Date.Format(time.DateOnly), f.Title)
		if f.Kind == "plan-update" {
			body = fmt.Sprintf("The DR/BCP test %s failed. Evaluate its results and update the plan; mark this done once the "+
				"updated plan is published.", w.st.TestID)
		}
		var id string
		id, futures[i] = humantask.Child{
			Purpose: fmt.Sprintf("follow-up/%d", f.N), Assignee: f.OwnerID, Subject: "DR/BCP test follow-up: " + f.Title,
			Body: body, Actions: []humantask.Action{humantask.ActionDone}, Controls: w.info.Controls, Due: due,
			Remind: w.in.RemindEvery, Escalation: taskEscalation,
		}.Start(ctx)
		w.st.FollowUps = append(w.st.FollowUps, id)
	}
	for i, f := range futures {
		var out humantask.Outcome
		if err := f.Get(ctx, &out); err != nil {
			return fmt.Errorf("follow-up %s: %w", w.st.FollowUps[i], err)
		}
		w.st.Decisions = append(w.st.Decisions, humantask.DecisionOf("follow-up", out))
		if err := w.record(ctx, drAct.DRTestFindingClosed, act.ClosedInput{ID: w.st.TestID, N: findings[i].N, TaskID: w.st.FollowUps[i],
			By: out.By, At: out.At, Controls: w.info.Controls}, nil); err != nil {
			return err
		}
	}
	return w.record(ctx, drAct.DRTestClose, act.CloseInput{ID: w.st.TestID, At: workflow.Now(ctx), Controls: w.info.Controls}, nil)
}

// sleepUntil waits for a moment that may already have passed.
func sleepUntil(ctx workflow.Context, t time.Time) error {
	if d := t.Sub(workflow.Now(ctx)); d > 0 {
		return workflow.Sleep(ctx, d)
	}
	return nil
}
