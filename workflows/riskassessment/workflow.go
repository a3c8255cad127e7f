package riskassessment

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/riskassessment"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
)

var riskAct *act.Activities

const (
	day = 24 * time.Hour
	// maxAcceptance caps an acceptance's expiry: it is reviewed at least
	// yearly, as the register is.
	maxAcceptance = 365 * day
)

// Workflow runs one year's assessment: the owners' tasks, the officer's
// review (sent back with a note until signed off), then each accepted risk
// above tolerance through its two sign-offs and its expiry re-reviews.
func Workflow(ctx workflow.Context, in workflows.ScheduledRun) (Status, error) {
	if in.RiskTolerance < 1 || in.RiskTolerance > 25 {
		return Status{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"risk assessment: risk_tolerance %d must be a score from 1 to 25 (the obligation's risk_tolerance)", in.RiskTolerance), refusal.Type, nil)
	}
	a := &assessment{in: in, st: Status{AssessmentID: workflow.GetInfo(ctx).WorkflowExecution.ID, Year: workflow.Now(ctx).Year(),
		Tolerance: in.RiskTolerance, Stage: StageScoring, Round: 1}}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (Status, error) { return a.st, nil }); err != nil {
		return Status{}, err
	}
	err := a.run(ctx)
	if werr := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err == nil {
		err = werr
	}
	return a.st, err
}

type assessment struct {
	in   workflows.ScheduledRun
	info act.Info
	st   Status
}

func (a *assessment) run(ctx workflow.Context) error {
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), riskAct.RiskOpen, act.OpenInput{
		ID: a.st.AssessmentID, Year: a.st.Year, Tolerance: a.in.RiskTolerance, Controls: a.in.ControlIDs, At: workflow.Now(ctx),
	}).Get(ctx, &a.info)
	if err != nil {
		return err
	}
	note := ""
	var assessed []act.Assessed
	for {
		a.st.Stage = StageScoring
		if assessed, err = a.score(ctx, note); err != nil {
			return err
		}
		a.st.Stage = StageReview
		out, err := humantask.Child{
			Purpose: fmt.Sprintf("review/%d", a.st.Round), Assignee: a.info.OfficerID,
			Subject: fmt.Sprintf("Sign off the %d risk assessment", a.st.Year),
			Body:    reviewBody(a.st.Year, a.in.RiskTolerance, assessed), Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject},
			Controls: a.info.Controls, Due: a.in.DuePeriod, Remind: a.in.RemindEvery, Escalation: a.in.Escalation,
		}.Run(ctx)
		if err != nil {
			return err
		}
		a.st.Decisions = append(a.st.Decisions, humantask.DecisionOf("review", out))
		approved := out.Action == humantask.ActionApprove
		if err := a.signOff(ctx, act.StepAssessment, "", out, time.Time{}, approved); err != nil {
			return err
		}
		if approved {
			break
		}
		// Sent back (issue item 6): every owner is asked again, with the note.
		note, a.st.Round = out.Note, a.st.Round+1
	}
	a.st.Stage = StageAcceptances
	pending := 0
	for _, as := range assessed {
		if as.Risk.NeedsAcceptance(a.in.RiskTolerance) {
			pending++
			r := as.Risk
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer func() { pending-- }()
				if err2 := a.acceptance(ctx, r); err2 != nil && err == nil {
					err = err2
				}
			})
		}
	}
	if werr := workflow.Await(ctx, func() bool { return pending == 0 }); werr != nil {
		return werr
	}
	if err == nil {
		a.st.Stage = StageDone
	}
	return err
}

// score hands every owner their task at once and records each answer as it
// comes; it answers every risk as scored this round.
func (a *assessment) score(ctx workflow.Context, note string) ([]act.Assessed, error) {
	futures := make([]workflow.ChildWorkflowFuture, len(a.info.Owners))
	ids := make([]string, len(a.info.Owners))
	for i, o := range a.info.Owners {
		body := a.ownerBody(o.Risks)
		if note != "" {
			body = "The security officer sent the assessment back: " + note + "\n\n" + body
		}
		ids[i], futures[i] = humantask.Child{
			Purpose: fmt.Sprintf("owner/%d/%s", a.st.Round, o.PersonID), Assignee: o.PersonID,
			Subject: fmt.Sprintf("Re-score your risks for the %d risk assessment", a.st.Year), Body: body,
			Actions: []humantask.Action{humantask.ActionDone}, Controls: a.info.Controls, Form: ownerForm(o.Risks, true),
			Due: a.in.DuePeriod, Remind: a.in.RemindEvery, Escalation: a.in.Escalation,
		}.Start(ctx)
	}
	var all []act.Assessed
	for i, f := range futures {
		var out humantask.Outcome
		if err := f.Get(ctx, &out); err != nil {
			return nil, fmt.Errorf("task %s: %w", ids[i], err)
		}
		out.TaskID = ids[i]
		a.st.Decisions = append(a.st.Decisions, humantask.DecisionOf("owner", out))
		o := a.info.Owners[i]
		round := a.st.Round
		assessed := readOwner(o.Risks, o.PersonID, out.Values, func(n int) string {
			return fmt.Sprintf("R-%d-%s-%d-%d", a.st.Year, o.PersonID, round, n)
		})
		if err := a.record(ctx, out, a.st.Round, assessed); err != nil {
			return nil, err
		}
		for _, as := range assessed {
			if as.Proposed {
				a.st.Proposed = append(a.st.Proposed, as.Risk.ID)
			}
		}
		all = append(all, assessed...)
	}
	return all, nil
}

func (a *assessment) record(ctx workflow.Context, out humantask.Outcome, round int, assessed []act.Assessed) error {
	var res act.ScoresResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), riskAct.RiskRecordScores, act.ScoresInput{
		ID: a.st.AssessmentID, Round: round, TaskID: out.TaskID, By: out.By, At: out.At, Risks: assessed, Controls: a.info.Controls,
	}).Get(ctx, &res)
	if err == nil && len(res.Unknown) > 0 {
		workflow.GetLogger(ctx).Warn("risk owner linked controls the program does not have", "task", out.TaskID, "controls", res.Unknown)
		// The register kept only the program's controls: so do the
		// officer's summary and the sign-offs built from these answers.
		for i := range assessed {
			assessed[i].Risk.Controls = slices.DeleteFunc(assessed[i].Risk.Controls, func(c string) bool { return slices.Contains(res.Unknown, c) })
		}
	}
	return err
}

func (a *assessment) signOff(ctx workflow.Context, step, riskID string, out humantask.Outcome, expires time.Time, final bool) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), riskAct.RiskRecordSignOff, act.SignOffInput{
		ID: a.st.AssessmentID, Step: step, RiskID: riskID, TaskID: out.TaskID, By: out.By, Decision: string(out.Action), Note: out.Note,
		ExpiresOn: expires, At: out.At, Controls: a.info.Controls, Final: final,
	}).Get(ctx, nil)
}

// acceptance takes one accepted risk above tolerance through the officer's
// sign-off with an expiry and the CEO's, waits for the expiry, and has its
// owner review it again; a refused acceptance goes back to the owner at
// once. It ends when the owner's review leaves the risk within tolerance or
// treated otherwise.
func (a *assessment) acceptance(ctx workflow.Context, r act.Risk) error {
	for n := 1; r.NeedsAcceptance(a.in.RiskTolerance); n++ {
		step := fmt.Sprintf("acceptance/%s/%d", r.ID, n)
		body := fmt.Sprintf("%s (%s), owned by %s, is accepted with a residual score of %d (%d x %d), above the risk tolerance of %d. "+
			"An acceptance above tolerance needs the security officer's and the CEO's sign-off and an expiry, after which the owner reviews it again.",
			r.ID, r.Title, r.OwnerID, r.ResidualScore(), r.ResidualLikelihood, r.ResidualImpact, a.in.RiskTolerance)
		officer, err := humantask.Child{
			Purpose: step + "/officer", Assignee: a.info.OfficerID, Subject: "Sign the acceptance of risk " + r.ID, Body: body,
			Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject}, Controls: a.info.Controls, Form: acceptanceForm(),
			Due: a.in.DuePeriod, Remind: a.in.RemindEvery, Escalation: a.in.Escalation,
		}.Run(ctx)
		if err != nil {
			return err
		}
		a.st.Decisions = append(a.st.Decisions, humantask.DecisionOf("acceptance-officer", officer))
		expires := a.expiry(ctx, officer.Values)
		if err := a.signOff(ctx, act.StepOfficer, r.ID, officer, expires, false); err != nil {
			return err
		}
		refused := officer.Action != humantask.ActionApprove
		if !refused {
			ceo, err := humantask.Child{
				Purpose: step + "/ceo", Assignee: a.info.CEOID, Subject: "Sign the acceptance of risk " + r.ID,
				Body:    body + fmt.Sprintf("\n\nThe security officer signed it until %s.", expires.Format(time.DateOnly)),
				Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject}, Controls: a.info.Controls,
				Due: a.in.DuePeriod, Remind: a.in.RemindEvery, Escalation: a.in.Escalation,
			}.Run(ctx)
			if err != nil {
				return err
			}
			a.st.Decisions = append(a.st.Decisions, humantask.DecisionOf("acceptance-ceo", ceo))
			refused = ceo.Action != humantask.ActionApprove
			if err := a.signOff(ctx, act.StepCEO, r.ID, ceo, expires, !refused); err != nil {
				return err
			}
		}
		why := "Its acceptance was refused: change the treatment, or accept it again with a better case."
		if !refused {
			a.st.Acceptances = append(a.st.Acceptances, Acceptance{RiskID: r.ID, ExpiresOn: expires})
			// The acceptance holds until its expiry, then is reviewed again
			// (issue item 6: an accepted risk must not silently go stale).
			if err := workflow.Sleep(ctx, expires.Sub(workflow.Now(ctx))); err != nil {
				return err
			}
			why = fmt.Sprintf("Its acceptance expired on %s.", expires.Format(time.DateOnly))
		}
		out, err := humantask.Child{
			Purpose: fmt.Sprintf("re-review/%s/%d", r.ID, n), Assignee: r.OwnerID, Subject: "Review risk " + r.ID + " again",
			Body: why + "\n\n" + a.ownerBody([]act.Risk{r}), Actions: []humantask.Action{humantask.ActionDone},
			Controls: a.info.Controls, Form: ownerForm([]act.Risk{r}, false),
			Due: a.in.DuePeriod, Remind: a.in.RemindEvery, Escalation: a.in.Escalation,
		}.Run(ctx)
		if err != nil {
			return err
		}
		a.st.Decisions = append(a.st.Decisions, humantask.DecisionOf("re-review", out))
		a.st.ReReviews = append(a.st.ReReviews, r.ID)
		assessed := readOwner([]act.Risk{r}, r.OwnerID, out.Values, nil)
		// Re-reviews are recorded as rounds after the assessment's own.
		if err := a.record(ctx, out, a.st.Round+n, assessed); err != nil {
			return err
		}
		r = assessed[0].Risk
	}
	return nil
}

// expiry is the officer's date (its midnight UTC), kept between
// a day and a year from now.
func (a *assessment) expiry(ctx workflow.Context, v humantask.Values) time.Time {
	now := workflow.Now(ctx)
	d, ok := v.Date(fieldExpiresOn)
	switch {
	case !ok:
		return time.Time{}
	case d.Before(now.Add(day)):
		d = now.Add(day).Truncate(day)
	case d.After(now.Add(maxAcceptance)):
		d = now.Add(maxAcceptance).Truncate(day)
	}
	return d
}

func riskLine(r act.Risk) string {
	return fmt.Sprintf("- %s %s: inherent %d (%d x %d), residual %d (%d x %d), %s; controls %s", r.ID, r.Title, r.Score(), r.Likelihood, r.Impact,
		r.ResidualScore(), r.ResidualLikelihood, r.ResidualImpact, r.Treatment, strings.Join(r.Controls, ", "))
}

func (a *assessment) ownerBody(risks []act.Risk) string {
	lines := make([]string, len(risks))
	for i, r := range risks {
		lines[i] = riskLine(r)
	}
	return fmt.Sprintf("The %d risk assessment: re-score each of your risks below, likelihood and impact from 1 to 5, before and after "+
		"its controls (the score is likelihood x impact), confirm or change its treatment with a justification, link the controls that "+
		"treat it, and propose any new risk. The risk tolerance is %d: an accepted risk above it needs the security officer's and the CEO's "+
		"sign-off and an expiry.\n\n%s\n\nThe program's controls, to link: %s.", a.st.Year, a.in.RiskTolerance, strings.Join(lines, "\n"),
		strings.Join(a.info.Program, ", "))
}

func reviewBody(year, tolerance int, assessed []act.Assessed) string {
	lines := make([]string, len(assessed))
	for i, as := range assessed {
		lines[i] = riskLine(as.Risk) + " — " + as.Justification
		if as.Proposed {
			lines[i] += " (new)"
		}
		if as.Risk.NeedsAcceptance(tolerance) {
			lines[i] += " (accepted above tolerance: needs your and the CEO's sign-off)"
		}
	}
	return fmt.Sprintf("The owners scored the register for %d. Approve to sign the assessment off, or reject with a note to send it back "+
		"to every owner.\n\n%s", year, strings.Join(lines, "\n"))
}
