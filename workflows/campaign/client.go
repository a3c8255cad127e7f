package campaign

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	act "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/internal/period"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
)

// Request is a campaign a person (or a process) asks for; what it leaves
// out comes from the program file's obligation for its kind.
type Request struct {
	Kind        string
	Policies    []string // acknowledgement: empty means every policy in force
	Training    string
	Departments []string
	People      []string
	Due         time.Duration // 0: the obligation's
	StartedBy   string
	Reason      string
}

// Prepare turns a request into the workflow's input, filling in the
// obligation's period, reminders, escalation and controls, and checks it:
// a refusal names what was wrong (issue 11 item 11) — an unknown policy or
// training, an empty audience, a due period shorter than the first
// reminder. Nothing is started.
func Prepare(ctx context.Context, db sqlx.QueryerContext, r Request) (Input, error) {
	process := act.ProcessAcknowledgement
	if r.Kind == act.KindTraining {
		process = act.ProcessTraining
	}
	ob, found, err := act.ObligationFor(ctx, db, process)
	if err != nil {
		return Input{}, err
	}
	in := Input{Kind: r.Kind, People: r.People, StartedBy: r.StartedBy, Reason: r.Reason}
	in.Process, in.Scope, in.Training, in.Departments, in.DuePeriod = process, r.Policies, r.Training, r.Departments, r.Due
	if found {
		in.follow(ob)
		if in.DuePeriod == 0 {
			in.DuePeriod = ob.Due
		}
		if in.Training == "" && r.Kind == act.KindTraining {
			in.Training = ob.Training
		}
	}
	def := in.Definition("")
	def.At = time.Now()
	if err := act.Validate(ctx, db, def); err != nil {
		return Input{}, err
	}
	if in.DuePeriod == 0 {
		return Input{}, refusal.New("no due period: give --due, or an obligation for %s in the program file", process)
	}
	return in, Check(in)
}

// follow takes the obligation's ID, reminders, escalation and controls:
// what a campaign started outside its schedule runs under.
func (in *Input) follow(ob act.Obligation) {
	in.ObligationID, in.RemindEvery, in.ControlIDs = ob.ID, ob.RemindEvery, ob.Controls
	in.Escalation = nil
	for _, s := range ob.Escalation {
		in.Escalation = append(in.Escalation, workflows.EscalationStep{After: s.After, To: s.To})
	}
}

// Check refuses an input whose timing cannot work: a due period shorter
// than the first reminder would remind nobody before the deadline.
func Check(in Input) error {
	if in.RemindEvery > 0 && in.DuePeriod < in.RemindEvery {
		return refusal.New("the due period (%s) is shorter than the first reminder (%s): nobody would be reminded before it is due",
			period.Format(in.DuePeriod), period.Format(in.RemindEvery))
	}
	return nil
}

// Start starts the campaign under id, refusing a second run under the same ID.
func Start(ctx context.Context, c client.Client, queue, id string, in Input) (already bool, err error) {
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue, WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return true, nil
	}
	return false, err
}

// AddPeople starts a cohort's campaign, or hands a running one more people.
func AddPeople(ctx context.Context, c client.Client, queue, id string, in Input, people []string) error {
	_, err := c.SignalWithStartWorkflow(ctx, id, SignalAddPeople, people, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, WorkflowName, in)
	return err
}

// Query asks a running (or closed) campaign for its status.
func Query(ctx context.Context, c client.Client, id string) (Status, error) {
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return Status{}, err
	}
	var s Status
	return s, v.Get(&s)
}

// Cohort is the new hires of one obligation starting on one day, and the
// campaign that enrols them.
type Cohort struct {
	CampaignID string
	Start      time.Time
	People     []string
}

// EnrollNewHires assigns every new hire the obligations with
// new_hire_within (issue 11 item 6): per obligation and start date, one
// campaign (NewHiresID) that waits for the start date, then asks them, due
// new_hire_within after it. It is idempotent: a person already assigned in
// their cohort is not enrolled again, and a cohort's campaign takes late
// joiners by signal. `starter import people` calls it after each import.
// dial is called only when there is somebody to enrol.
func EnrollNewHires(ctx context.Context, db sqlx.QueryerContext, dial func() (client.Client, error), queue string, now time.Time) ([]Cohort, error) {
	var cohorts []Cohort
	for _, process := range []string{act.ProcessAcknowledgement, act.ProcessTraining} {
		obs, err := act.Obligations(ctx, db, process)
		if err != nil {
			return cohorts, err
		}
		for _, ob := range obs {
			if ob.NewHireWithin <= 0 {
				continue
			}
			byStart, err := act.NewHires(ctx, db, ob, newHiresPrefix(ob.ID), now)
			if err != nil {
				return cohorts, err
			}
			for _, start := range slices.SortedFunc(maps.Keys(byStart), time.Time.Compare) {
				people := byStart[start]
				id := NewHiresID(ob.ID, start)
				in := Input{Kind: act.KindOf(process), People: people, DueFromStart: true, NotBefore: start, StartedBy: "complyflow",
					Reason: "new hires starting " + start.Format("2006-01-02")}
				in.follow(ob)
				in.Process, in.DuePeriod = process, ob.NewHireWithin
				in.Scope, in.Training, in.Departments = ob.Scope, ob.Training, ob.Departments
				c, err := dial()
				if err != nil {
					return cohorts, err
				}
				if err := AddPeople(ctx, c, queue, id, in, people); err != nil {
					return cohorts, fmt.Errorf("enrol new hires in %s: %w", id, err)
				}
				cohorts = append(cohorts, Cohort{CampaignID: id, Start: start, People: people})
			}
		}
	}
	return cohorts, nil
}
