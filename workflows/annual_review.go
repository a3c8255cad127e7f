package workflows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/activities"
)

// AnnualPolicyReview is the yearly review of policy-management §6, started by
// the program's schedule: the officer opens it, every committee member
// reviews the policies in scope, each change they ask for becomes a
// PolicyChangeRequest child, and the officer signs off or rejects it back
// for another round. The record says who reviewed what, when, and what
// changed.
func AnnualPolicyReview(ctx workflow.Context, in ScheduledRun) (AnnualPolicyReviewStatus, error) {
	w, err := newAnnualReview(ctx, in)
	if err != nil {
		return AnnualPolicyReviewStatus{}, err
	}
	return w.run(ctx)
}

type annualReview struct {
	in       ScheduledRun
	info     activities.ReviewInfo
	st       AnnualPolicyReviewStatus
	children []workflow.ChildWorkflowFuture
}

func newAnnualReview(ctx workflow.Context, in ScheduledRun) (*annualReview, error) {
	w := &annualReview{in: in, st: AnnualPolicyReviewStatus{
		ReviewID: workflow.GetInfo(ctx).WorkflowExecution.ID, Stage: "opening", Round: 1, Changed: map[string]string{},
	}}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (AnnualPolicyReviewStatus, error) { return w.st, nil }); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *annualReview) run(ctx workflow.Context) (AnnualPolicyReviewStatus, error) {
	actx := workflow.WithActivityOptions(ctx, recordOptions)
	if err := workflow.ExecuteActivity(actx, policyAct.OpenPolicyReview, activities.OpenReviewInput{
		ID: w.st.ReviewID, ObligationID: w.in.ObligationID, Scope: w.in.Scope, ControlIDs: w.in.ControlIDs,
	}).Get(ctx, &w.info); err != nil {
		return w.st, err
	}
	for _, p := range w.info.Policies {
		w.st.Policies = append(w.st.Policies, p.ID)
	}
	year := workflow.Now(ctx).Year()
	open, err := w.task(ctx, policyTask{
		purpose: "open", assignee: w.info.OfficerID, actions: []Action{ActionDone},
		subject: fmt.Sprintf("Open the %d annual policy review", year),
		body: fmt.Sprintf("Mark this done to open the review: each committee member (%s) is then asked to review:\n\n%s",
			strings.Join(w.info.Committee, ", "), w.policyList()),
	})
	if err != nil {
		return w.st, err
	}
	if err := w.status(ctx, activities.ReviewOpened, open.By, open.Note, open); err != nil {
		return w.st, err
	}
	for {
		if err := w.committeeRound(ctx); err != nil {
			return w.st, err
		}
		w.st.Stage = "awaiting-sign-off"
		out, err := w.task(ctx, policyTask{
			purpose: fmt.Sprintf("sign-off/%d", w.st.Round), assignee: w.info.OfficerID, actions: []Action{ActionApprove, ActionReject},
			subject: fmt.Sprintf("Sign off the %d annual policy review", year),
			body:    w.summary() + "\nApprove to sign the review off, or reject it back with a note for another round of review.",
		})
		if err != nil {
			return w.st, err
		}
		if out.Action == ActionApprove {
			w.st.Stage = activities.ReviewSignedOff
			return w.st, w.status(ctx, activities.ReviewSignedOff, out.By, out.Note, out)
		}
		w.st.Round++
	}
}

func (w *annualReview) task(ctx workflow.Context, t policyTask) (TaskOutcome, error) {
	t.control, t.due, t.remind, t.escalation = firstOr(w.info.Controls, ""), w.in.DuePeriod, w.in.RemindEvery, w.in.Escalation
	return t.run(ctx)
}

func (w *annualReview) status(ctx workflow.Context, status, by, note string, out TaskOutcome) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recordOptions), policyAct.RecordReviewStatus,
		activities.ReviewStatusInput{ID: w.st.ReviewID, Round: w.st.Round, Status: status, By: by, Note: note, At: out.At, Controls: w.info.Controls}).
		Get(ctx, nil)
}

func (w *annualReview) policyList() string {
	var b strings.Builder
	for _, p := range w.info.Policies {
		fmt.Fprintf(&b, "- `%s` %s, version %s\n", p.ID, p.Title, orNone(p.Version))
	}
	return b.String()
}

// committeeRound asks every member at once, starts a change request for each
// change asked for, and waits for the members and those changes.
func (w *annualReview) committeeRound(ctx workflow.Context) error {
	w.st.Stage = activities.ReviewInReview
	if err := w.status(ctx, activities.ReviewInReview, w.info.OfficerID, "", TaskOutcome{At: workflow.Now(ctx)}); err != nil {
		return err
	}
	sel := workflow.NewSelector(ctx)
	type answered struct {
		member string
		out    TaskOutcome
		err    error
	}
	var answers []answered
	for _, m := range w.info.Committee {
		id, f := policyTask{
			purpose: fmt.Sprintf("review/%d/%s", w.st.Round, m), assignee: m, actions: []Action{ActionApprove, ActionReject},
			subject: "Annual policy review: please review the policies",
			body: "Review the current policies:\n\n" + w.policyList() + "\nApprove if they are accurate and up to date. " +
				"To ask for changes, reject with a note of one line per change: `policy-id: what should change` " +
				"(add `[minor]` after the ID for a typo or formatting fix). Each line becomes a change request.",
			control: firstOr(w.info.Controls, ""), due: w.in.DuePeriod, remind: w.in.RemindEvery, escalation: w.in.Escalation,
		}.start(ctx)
		sel.AddFuture(f, func(f workflow.Future) {
			a := answered{member: m}
			a.err = f.Get(ctx, &a.out)
			a.out.TaskID = id
			answers = append(answers, a)
		})
	}
	for range w.info.Committee {
		sel.Select(ctx)
		a := answers[len(answers)-1]
		if a.err != nil {
			return fmt.Errorf("review by %s: %w", a.member, a.err)
		}
		if err := w.recordAnswer(ctx, a.member, a.out); err != nil {
			return err
		}
	}
	for _, c := range w.children {
		var res PolicyChangeStatus
		if err := c.Get(ctx, &res); err != nil {
			workflow.GetLogger(ctx).Warn("change request from the review did not finish", "err", err)
			continue
		}
		w.st.Changed[res.RequestID] = res.Version
	}
	w.children = nil
	return nil
}

// changeLine is "policy-id: what should change", optionally "policy-id [minor]: ...".
var changeLine = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[(minor|material)\])?\s*:\s*(\S.*)$`)

// recordAnswer turns one member's answer into review items, starting a
// change request child for each change asked for.
func (w *annualReview) recordAnswer(ctx workflow.Context, member string, out TaskOutcome) error {
	changes := map[string][]string{} // policy -> lines
	kinds := map[string]string{}
	if out.Action == ActionReject {
		for _, line := range strings.Split(out.Note, "\n") {
			m := changeLine.FindStringSubmatch(line)
			if m == nil || !slices.Contains(w.st.Policies, m[1]) {
				continue
			}
			changes[m[1]] = append(changes[m[1]], m[4])
			if kinds[m[1]] != "material" {
				kinds[m[1]] = orDefault(m[3], "material")
			}
		}
		if len(changes) == 0 && len(w.st.Policies) == 1 {
			changes[w.st.Policies[0]] = []string{out.Note}
			kinds[w.st.Policies[0]] = "material"
		}
	}
	var items []activities.ReviewItem
	for _, p := range w.st.Policies {
		item := activities.ReviewItem{PolicyID: p, Outcome: activities.ReviewNoChange}
		if lines, ok := changes[p]; ok {
			item.Outcome, item.Note = activities.ReviewChangeRequested, strings.Join(lines, "; ")
			item.ChangeRequestID = PolicyChangeRequestID(p, fmt.Sprintf("%s-r%d-%s", strings.ReplaceAll(w.st.ReviewID, "/", "-"), w.st.Round, member))
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: item.ChangeRequestID})
			w.children = append(w.children, workflow.ExecuteChildWorkflow(cctx, PolicyChangeRequestWorkflow, PolicyChangeInput{
				PolicyID: p, Kind: kinds[p], Summary: item.Note, RequesterID: member, ReviewID: w.st.ReviewID,
				DuePeriod: w.in.DuePeriod, RemindEvery: w.in.RemindEvery,
			}))
			w.st.ChangeRequests = append(w.st.ChangeRequests, item.ChangeRequestID)
		} else if out.Action == ActionReject {
			item.Note = out.Note // a comment that named no policy in scope
		}
		items = append(items, item)
		action := ActionApprove
		if item.Outcome == activities.ReviewChangeRequested {
			action = ActionReject
		}
		w.st.Reviewed = append(w.st.Reviewed, Decision{Step: p, TaskID: out.TaskID, By: member, Action: action, Note: item.Note, At: out.At})
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recordOptions), policyAct.RecordReviewItems, activities.ReviewItemsInput{
		ID: w.st.ReviewID, Round: w.st.Round, ReviewerID: member, TaskID: out.TaskID, Items: items, At: out.At, Controls: w.info.Controls,
	}).Get(ctx, nil)
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// summary is what the officer signs off: who reviewed what, and what changed.
func (w *annualReview) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Review %s, round %d.\n\nReviewed:\n", w.st.ReviewID, w.st.Round)
	for _, d := range w.st.Reviewed {
		outcome := "no change"
		if d.Action == ActionReject {
			outcome = "change requested: " + d.Note
		}
		fmt.Fprintf(&b, "- %s reviewed `%s` on %s: %s\n", d.By, d.Step, d.At.Format("2006-01-02"), outcome)
	}
	if len(w.st.ChangeRequests) > 0 {
		b.WriteString("\nChanges:\n")
		for _, id := range w.st.ChangeRequests {
			fmt.Fprintf(&b, "- %s: %s\n", id, orDefault(w.st.Changed[id], "not published"))
		}
	}
	return b.String()
}
