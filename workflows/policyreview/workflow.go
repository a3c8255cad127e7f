package policyreview

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/activities/notify"
	act "github.com/complyflow/complyflow/activities/policyreview"
	"github.com/complyflow/complyflow/policy"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/policychange"
)

// Workflow is the yearly review of policy-management §6, started by
// the program's schedule: the officer opens it, every committee member
// reviews the policies in scope, each change they ask for becomes a
// PolicyChangeRequest child, and the officer signs off or rejects it back
// for another round. The record says who reviewed what, when, and what
// changed.
func Workflow(ctx workflow.Context, in workflows.ScheduledRun) (Status, error) {
	w, err := newAnnualReview(ctx, in)
	if err != nil {
		return Status{}, err
	}
	return w.run(ctx)
}

type annualReview struct {
	in       workflows.ScheduledRun
	info     act.ReviewInfo
	st       Status
	children []reviewChange
	// unopened is every change asked for that no change request carried
	// out, in any round, so the officer signs off knowing of it.
	unopened []unopenedChange
	// recorded: "member/policy" reviewed in the current round
	recorded map[string]bool
	// rejected is the sign-off the officer rejected back, which opens the
	// current round; nil in the first round.
	rejected *humantask.Outcome
}

func newAnnualReview(ctx workflow.Context, in workflows.ScheduledRun) (*annualReview, error) {
	w := &annualReview{in: in, st: Status{
		ReviewID: workflow.GetInfo(ctx).WorkflowExecution.ID, Stage: StageOpening, Round: 1, Changed: map[string]string{},
	}}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (Status, error) { return w.st, nil }); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *annualReview) run(ctx workflow.Context) (Status, error) {
	actx := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	if err := workflow.ExecuteActivity(actx, policyAct.OpenPolicyReview, act.OpenReviewInput{
		ID: w.st.ReviewID, ObligationID: w.in.ObligationID, Scope: w.in.Scope, ControlIDs: w.in.ControlIDs,
	}).Get(ctx, &w.info); err != nil {
		return w.st, err
	}
	for _, p := range w.info.Policies {
		w.st.Policies = append(w.st.Policies, p.ID)
	}
	year := workflow.Now(ctx).Year()
	open, err := w.task(ctx, humantask.Child{
		Purpose: "open", Assignee: w.info.OfficerID, Actions: []humantask.Action{humantask.ActionDone},
		Subject: fmt.Sprintf("Open the %d annual policy review", year),
		Body: fmt.Sprintf("Mark this done to open the review: each committee member (%s) is then asked to review:\n\n%s",
			strings.Join(w.info.Committee, ", "), w.policyList()),
	})
	if err != nil {
		return w.st, err
	}
	if err := w.status(ctx, act.StatusOpened, open.By, open.Note, open); err != nil {
		return w.st, err
	}
	for {
		if err := w.committeeRound(ctx); err != nil {
			return w.st, err
		}
		w.st.Stage = StageAwaitingSignOff
		out, err := w.task(ctx, humantask.Child{
			Purpose: fmt.Sprintf("sign-off/%d", w.st.Round), Assignee: w.info.OfficerID, Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject},
			Subject: fmt.Sprintf("Sign off the %d annual policy review", year),
			Body:    w.summary() + "\nApprove to sign the review off, or reject it back with a note for another round of review.",
		})
		if err != nil {
			return w.st, err
		}
		if out.Action == humantask.ActionApprove {
			w.st.Stage = act.StatusSignedOff
			return w.st, w.status(ctx, act.StatusSignedOff, out.By, out.Note, out)
		}
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.RecordReviewRejection,
			act.ReviewRejectionInput{ID: w.st.ReviewID, Round: w.st.Round, TaskID: out.TaskID, By: out.By, Note: out.Note,
				At: out.At, Controls: w.info.Controls}).Get(ctx, nil); err != nil {
			return w.st, err
		}
		w.rejected = &out
		w.st.Round++
	}
}

func (w *annualReview) task(ctx workflow.Context, t humantask.Child) (humantask.Outcome, error) {
	return w.withDefaults(t).Run(ctx)
}

// withDefaults gives t the review's control, due period, reminders and escalation.
func (w *annualReview) withDefaults(t humantask.Child) humantask.Child {
	t.Controls, t.Due, t.Remind, t.Escalation = w.info.Controls, w.in.DuePeriod, w.in.RemindEvery, w.in.Escalation
	return t
}

func (w *annualReview) status(ctx workflow.Context, status, by, note string, out humantask.Outcome) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.RecordReviewStatus,
		act.ReviewStatusInput{ID: w.st.ReviewID, Round: w.st.Round, Status: status, By: by, Note: note, At: out.At, Controls: w.info.Controls}).
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
// change asked for, and waits for the members and those changes. A member
// whose rejection had lines that were not understood is asked again about
// them, in the same round.
func (w *annualReview) committeeRound(ctx workflow.Context) error {
	w.st.Stage = act.StatusInReview
	by, note := w.info.OfficerID, ""
	if w.rejected != nil {
		by, note = w.rejected.By, w.rejected.Note
	}
	if err := w.status(ctx, act.StatusInReview, by, note, humantask.Outcome{At: workflow.Now(ctx)}); err != nil {
		return err
	}
	w.recorded = map[string]bool{}
	sel := workflow.NewSelector(ctx)
	var answers []reviewAnswer
	pending := 0
	ask := func(member string, clarify int, t humantask.Child) {
		id, f := t.Start(ctx)
		pending++
		sel.AddFuture(f, func(f workflow.Future) {
			a := reviewAnswer{member: member, clarify: clarify}
			a.err = f.Get(ctx, &a.out)
			a.out.TaskID = id
			answers = append(answers, a)
		})
	}
	sentBack := ""
	if w.rejected != nil {
		sentBack = fmt.Sprintf("%s rejected the sign-off of round %d and sent the review back: %s\n\n", w.rejected.By, w.st.Round-1, w.rejected.Note)
	}
	for _, m := range w.info.Committee {
		ask(m, 0, w.withDefaults(humantask.Child{
			Purpose: fmt.Sprintf("review/%d/%s", w.st.Round, m), Assignee: m, Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject},
			Subject: "Annual policy review: please review the policies",
			Body: sentBack + "Review the current policies:\n\n" + w.policyList() + "\nApprove if they are accurate and up to date. " +
				"To ask for changes, reject with a note of one line per change: `policy-id: what should change` " +
				"(add `[minor]` after the ID for a typo or formatting fix). Each line becomes a change request.",
		}))
	}
	for ; pending > 0; pending-- {
		sel.Select(ctx)
		a := answers[len(answers)-1]
		if a.err != nil {
			return fmt.Errorf("review by %s: %w", a.member, a.err)
		}
		unclear, err := w.recordAnswer(ctx, a.member, a.clarify, a.out)
		if err != nil {
			return err
		}
		if len(unclear) > 0 {
			ask(a.member, a.clarify+1, w.clarifyTask(a.member, a.clarify+1, unclear))
		}
	}
	for _, c := range w.children {
		var res policychange.Status
		if err := c.future.Get(ctx, &res); err != nil {
			workflow.GetLogger(ctx).Warn("change request from the review did not finish", "request", c.requestID, "err", err)
			u := unopenedChange{round: w.st.Round, member: c.member, policyID: c.policyID, requestID: c.requestID, reason: failureReason(err)}
			w.unopened = append(w.unopened, u)
			if err := w.recordFailed(ctx, u); err != nil {
				return err
			}
			continue
		}
		w.st.Changed[res.RequestID] = res.Version
	}
	w.children = nil
	return nil
}

// recordFailed audits a change request of the review that failed, as the
// review item still names it.
func (w *annualReview) recordFailed(ctx workflow.Context, u unopenedChange) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.RecordReviewChangeFailed,
		act.ReviewChangeFailedInput{ReviewID: w.st.ReviewID, Round: u.round, MemberID: u.member, PolicyID: u.policyID,
			RequestID: u.requestID, Reason: u.reason, At: workflow.Now(ctx), Controls: w.info.Controls}).Get(ctx, nil)
}

// reviewChange is a change request the review started for a member's change.
type reviewChange struct {
	requestID, member, policyID string
	future                      workflow.ChildWorkflowFuture
}

// unopenedChange is a change a member asked for that was not made: refused
// before its change request was opened (requestID ""), or a change request
// that failed.
type unopenedChange struct {
	round                               int
	member, policyID, requestID, reason string
}

// reviewAnswer is a member's answer to their review task (clarify 0) or to
// the clarify-th request to restate lines that were not understood.
type reviewAnswer struct {
	member  string
	clarify int
	out     humantask.Outcome
	err     error
}

// clarifyTask asks the member again about the lines of their rejection that
// named no policy in scope, so no change they asked for is dropped.
func (w *annualReview) clarifyTask(member string, n int, unclear []string) humantask.Child {
	return w.withDefaults(humantask.Child{
		Purpose: fmt.Sprintf("clarify/%d/%s/%d", w.st.Round, member, n), Assignee: member, Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject},
		Subject: "Annual policy review: some of the changes you asked for were not understood",
		Body: "These lines of your review were not understood, so no change request was made for them:\n\n" +
			"- " + strings.Join(unclear, "\n- ") + "\n\nThe policies in this review:\n\n" + w.policyList() +
			"\nReject this with the changes restated one per line as `policy-id: what should change` " +
			"(add `[minor]` after the ID for a typo or formatting fix), or approve it if you ask for no further change.",
	})
}

// changeLine is "policy-id: what should change", optionally "policy-id [minor]: ...".
var changeLine = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[(minor|material)\])?\s*:\s*(\S.*)$`)

// parsedAnswer is a rejection's note read line by line.
type parsedAnswer struct {
	changes map[string][]string // policy -> what should change
	kinds   map[string]string
	unclear []string // lines that name no policy in scope, with why
}

// parseChanges reads a rejection's note. With strict, a line that does not
// start a change continues the change before it (with one policy in scope,
// that policy), and any other line is unclear, as is a note naming no
// change at all. Without it, as runs before "review-unclear-lines" did:
// such lines are dropped, and a note naming nothing is a change to the only
// policy in scope.
func (w *annualReview) parseChanges(note string, strict bool) parsedAnswer {
	p := parsedAnswer{changes: map[string][]string{}, kinds: map[string]string{}}
	last := ""
	if strict && len(w.st.Policies) == 1 {
		last = w.st.Policies[0]
	}
	for _, line := range strings.Split(note, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := changeLine.FindStringSubmatch(line)
		switch {
		case m != nil && slices.Contains(w.st.Policies, m[1]):
			p.changes[m[1]] = append(p.changes[m[1]], m[4])
			if p.kinds[m[1]] != "material" {
				p.kinds[m[1]] = orDefault(m[3], "material")
			}
			last = m[1]
		case !strict:
		case m != nil:
			p.unclear = append(p.unclear, fmt.Sprintf("%q: %s is not a policy in this review", strings.TrimSpace(line), m[1]))
		case last != "":
			p.changes[last] = append(p.changes[last], strings.TrimSpace(line))
		default:
			p.unclear = append(p.unclear, fmt.Sprintf("%q: names no policy", strings.TrimSpace(line)))
		}
	}
	if !strict && len(p.changes) == 0 && len(w.st.Policies) == 1 {
		p.changes[w.st.Policies[0]] = []string{note}
		p.kinds[w.st.Policies[0]] = "material"
	}
	for pid := range p.changes {
		if p.kinds[pid] == "" { // only continuation lines of the only policy
			p.kinds[pid] = "material"
		}
	}
	if strict && len(p.changes) == 0 && len(p.unclear) == 0 {
		p.unclear = []string{"(the rejection named no change)"}
	}
	return p
}

// looseLines reports whether a rejection's note has a line that is not a
// change to a policy in scope, or no change at all: only then does strict
// reading differ from the old one.
func (w *annualReview) looseLines(note string) bool {
	valid := 0
	for _, line := range strings.Split(note, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := changeLine.FindStringSubmatch(line)
		if m == nil || !slices.Contains(w.st.Policies, m[1]) {
			return true
		}
		valid++
	}
	return valid == 0
}

// recordAnswer turns one member's answer into review items, starting a
// change request child for each change asked for. It answers the lines of a
// rejection that were not understood; the policies they may be about stay
// open for that member until the member restates them.
func (w *annualReview) recordAnswer(ctx workflow.Context, member string, clarify int, out humantask.Outcome) ([]string, error) {
	var p parsedAnswer
	strict := false
	if out.Action == humantask.ActionReject {
		strict = w.looseLines(out.Note)
		p = w.parseChanges(out.Note, strict)
	}
	var items []act.ReviewItem
	for _, pid := range w.st.Policies {
		lines, changed := p.changes[pid]
		if w.recorded[member+"/"+pid] && !changed {
			continue
		}
		if !changed && len(p.unclear) > 0 {
			continue // may be what an unclear line is about
		}
		item := act.ReviewItem{PolicyID: pid, Outcome: act.OutcomeNoChange}
		if changed {
			suffix := fmt.Sprintf("%s-r%d-%s", strings.ReplaceAll(w.st.ReviewID, "/", "-"), w.st.Round, member)
			if clarify > 0 {
				suffix += fmt.Sprintf("-c%d", clarify)
			}
			item.Outcome, item.Note = act.OutcomeChangeRequested, strings.Join(lines, "; ")
			refusal, err := w.checkChange(ctx, member, pid, p.kinds[pid])
			if err != nil {
				return nil, err
			}
			if refusal != "" {
				item.Outcome, item.Note = act.OutcomeChangeRefused, item.Note+" — could not be opened: "+refusal
				w.unopened = append(w.unopened, unopenedChange{round: w.st.Round, member: member, policyID: pid, reason: refusal})
			} else {
				item.ChangeRequestID = policychange.ID(pid, suffix)
				cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: item.ChangeRequestID})
				w.children = append(w.children, reviewChange{requestID: item.ChangeRequestID, member: member, policyID: pid,
					future: workflow.ExecuteChildWorkflow(cctx, policychange.WorkflowName, policychange.Input{
						PolicyID: pid, Kind: p.kinds[pid], Summary: item.Note, RequesterID: member, ReviewID: w.st.ReviewID,
						DuePeriod: w.in.DuePeriod, RemindEvery: w.in.RemindEvery,
					})})
				w.st.ChangeRequests = append(w.st.ChangeRequests, item.ChangeRequestID)
			}
		} else if out.Action == humantask.ActionReject && !strict {
			item.Note = out.Note // a comment that named no policy in scope
		}
		w.recorded[member+"/"+pid] = true
		items = append(items, item)
		action := humantask.ActionApprove
		if item.Outcome != act.OutcomeNoChange {
			action = humantask.ActionReject
		}
		w.st.Reviewed = append(w.st.Reviewed, PolicyReviewed{PolicyID: pid, TaskID: out.TaskID, By: member, Action: action, Note: item.Note, At: out.At})
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.RecordReviewItems, act.ReviewItemsInput{
		ID: w.st.ReviewID, Round: w.st.Round, ReviewerID: member, TaskID: out.TaskID, Items: items, At: out.At, Controls: w.info.Controls,
		Clarify: clarify, Unclear: p.unclear,
	}).Get(ctx, nil); err != nil {
		return nil, err
	}
	w.tellRefused(ctx, member, clarify, items)
	return p.unclear, nil
}

// tellRefused emails the member the changes of this answer that could not
// be opened, so they do not take them for under way. Not sending it leaves
// the officer's sign-off task to show them; the review goes on.
func (w *annualReview) tellRefused(ctx workflow.Context, member string, clarify int, items []act.ReviewItem) {
	var lines []string
	for _, it := range items {
		if it.Outcome == act.OutcomeChangeRefused {
			lines = append(lines, fmt.Sprintf("- `%s`: %s", it.PolicyID, it.Note))
		}
	}
	if len(lines) == 0 {
		return
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.MessageOptions), messagesAct.EmailPeople, notify.EmailPeopleInput{
		Key:       fmt.Sprintf("%s/round/%d/refused/%s/%d", w.st.ReviewID, w.st.Round, member, clarify),
		Purpose:   "review-change-refused",
		Ref:       w.st.ReviewID,
		PersonIDs: []string{member},
		Subject:   "Annual policy review: a change you asked for could not be opened",
		Text: "These changes you asked for in the annual policy review could not be opened as change requests, so nothing is under way for them:\n\n" +
			strings.Join(lines, "\n") + "\n\nThe officer, " + w.info.OfficerID + ", sees them when signing off the review. " +
			"Once the reason is fixed (for example another holder of the role in the program file), request the change again.",
		AuditAction: "policy.review.change-refused-sent", Controls: w.info.Controls,
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("refused change not sent to the member", "member", member, "err", err)
	}
}

// checkChange answers why the change request for a member's change would be
// refused at open, or "" if it can be opened.
func (w *annualReview) checkChange(ctx workflow.Context, member, policyID, kind string) (string, error) {
	var res act.ReviewChangeCheck
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.CheckReviewChange,
		act.ReviewChangeCheckInput{PolicyID: policyID, RequesterID: member, Kind: policy.Kind(kind)}).Get(ctx, &res); err != nil {
		return "", err
	}
	return res.Reason, nil // "" unless refused
}

// failureReason is what a failed child says went wrong at its root,
// without the wrappers naming each workflow and run on the way up.
func failureReason(err error) string {
	reason := err.Error()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if appErr, ok := e.(*temporal.ApplicationError); ok {
			reason = appErr.Message()
		}
	}
	return reason
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
		if d.Action == humantask.ActionReject {
			outcome = "change requested: " + d.Note
		}
		fmt.Fprintf(&b, "- %s reviewed `%s` on %s: %s\n", d.By, d.PolicyID, d.At.Format("2006-01-02"), outcome)
	}
	if len(w.st.ChangeRequests) > 0 {
		b.WriteString("\nChanges:\n")
		for _, id := range w.st.ChangeRequests {
			outcome := orDefault(w.st.Changed[id], "not published")
			if slices.ContainsFunc(w.unopened, func(u unopenedChange) bool { return u.requestID == id }) {
				outcome = "failed, see below"
			}
			fmt.Fprintf(&b, "- %s: %s\n", id, outcome)
		}
	}
	if len(w.unopened) > 0 {
		b.WriteString("\nChanges asked for and NOT made (each must be requested again once what stopped it is fixed):\n")
		for _, u := range w.unopened {
			if u.requestID == "" {
				fmt.Fprintf(&b, "- %s asked to change `%s` in round %d; the change request could not be opened: %s\n", u.member, u.policyID, u.round, u.reason)
			} else {
				fmt.Fprintf(&b, "- %s asked to change `%s` in round %d; change request %s failed: %s\n", u.member, u.policyID, u.round, u.requestID, u.reason)
			}
		}
	}
	return b.String()
}

// orNone shows a policy that has no version yet.
func orNone(v string) string {
	if v == "" {
		return "(none yet)"
	}
	return v
}

var (
	policyAct   *act.Activities
	messagesAct *notify.Messages
)
