package policychange

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/policy"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/campaign"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// Workflow carries one request to change a policy through the
// process of policy-management §3: officer review, rejection back to the
// requester (who resubmits or withdraws) as often as it takes, the CEO's (or
// designee's) approval of a material change and the Head of Engineering's of
// a product development policy, the change-management reference when
// production must change, then archive-and-publish, the announcement, and for
// a material change the re-acknowledgement it owes.
func Workflow(ctx workflow.Context, in Input) (Status, error) {
	w, err := newPolicyChange(ctx, in)
	if err != nil {
		return Status{}, err
	}
	st, err := w.run(ctx)
	// A withdraw update answers once the withdrawal is recorded; let it.
	if werr := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); werr != nil && err == nil {
		err = werr
	}
	return st, err
}

type policyChange struct {
	in   Input
	kind policy.Kind
	info act.ChangeRequestInfo
	st   Status
	// responses carries a resubmit or withdraw update to returned();
	// answering refuses a second one in the same return.
	responses workflow.Channel
	answering bool
	// answered is set once returned() took the answer to the current return;
	// an update after that is refused, not left for the next return.
	answered bool
	// prodAttempts counts the production-change tasks handed out.
	prodAttempts int
}

func newPolicyChange(ctx workflow.Context, in Input) (*policyChange, error) {
	kind, err := policy.ParseKind(in.Kind)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadInput", nil)
	}
	w := &policyChange{in: in, kind: kind, st: Status{
		RequestID: workflow.GetInfo(ctx).WorkflowExecution.ID, PolicyID: in.PolicyID, Kind: in.Kind, Stage: act.StatusInReview,
	}}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (Status, error) { return w.st, nil }); err != nil {
		return nil, err
	}
	w.responses = workflow.NewBufferedChannel(ctx, 1)
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateResubmit,
		func(ctx workflow.Context, r ResubmitRequest) (string, error) {
			return w.respond(ctx, changeResponse{resubmit: &r, actedBy: r.ActedBy, outcome: humantask.Outcome{
				Action: humantask.ActionDone, By: r.PersonID, At: workflow.Now(ctx), Note: r.Note}})
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, r ResubmitRequest) error {
			if r.Text == "" && r.Reference == "" && strings.TrimSpace(r.Note) == "" {
				return fmt.Errorf("a resubmission needs new text, a new reference or a note saying what changed")
			}
			return w.validateResponse(r.PersonID)
		}})
	if err != nil {
		return nil, err
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateWithdraw,
		func(ctx workflow.Context, r WithdrawRequest) (string, error) {
			return w.respond(ctx, changeResponse{actedBy: r.ActedBy, outcome: humantask.Outcome{
				Action: humantask.ActionReject, By: r.PersonID, At: workflow.Now(ctx), Note: r.Note}})
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, r WithdrawRequest) error {
			return w.validateResponse(r.PersonID)
		}})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (w *policyChange) run(ctx workflow.Context) (Status, error) {
	actx := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	now := workflow.Now(ctx)
	err := workflow.ExecuteActivity(actx, policyAct.OpenChangeRequest, act.OpenChangeRequestInput{
		ID: w.st.RequestID, PolicyID: w.in.PolicyID, Kind: w.kind, Summary: w.in.Summary, Body: w.in.Text,
		Reference: w.in.Reference, NeedsProductionChange: w.in.NeedsProductionChange, RequesterID: w.in.RequesterID,
		ActedBy: w.in.ActedBy, ReviewID: w.in.ReviewID, At: now,
	}).Get(ctx, &w.info)
	if err != nil {
		return w.st, err
	}
	w.st.Rounds = []Round{{Round: 1, Submitted: now, Note: w.in.Summary}}

	for {
		approved, err := w.approvals(ctx)
		if err != nil {
			return w.st, err
		}
		if approved {
			approvedAt := workflow.Now(ctx)
			if w.in.NeedsProductionChange {
				if err := w.productionChange(ctx); err != nil {
					return w.st, err
				}
			}
			back, err := w.publish(ctx, approvedAt)
			if err != nil || back == nil {
				return w.st, err
			}
			w.sendBack(ctx, *back)
		}
		resubmitted, err := w.returned(ctx)
		if err != nil || !resubmitted {
			return w.st, err
		}
	}
}

// sentBack is why publishing refused an approved request: its step names
// the refusal ("superseded", "no-document"), its note tells the requester.
type sentBack struct {
	step, note string
}

// Publishing refuses an approved request, and sends it back to its
// requester, when another change was published since it was reviewed
// (published as it is, it would undo that change), or when it has neither
// the new text nor a reference to where it lives (a version holds its
// document). The publish recorded it; the requester resubmits or withdraws.
const (
	stepSuperseded = "superseded"
	stepNoDocument = "no-document"
)

// superseded says why a request reviewed against an older version is back.
func (w *policyChange) superseded(sup act.Superseded) sentBack {
	w.info.Policy.Version = sup.Current
	return sentBack{stepSuperseded, fmt.Sprintf("Not published: while it was in review the policy moved on to version %s (it was reviewed against %s). "+
		"Check your change against the current text and resubmit it, or withdraw it.", orNone(sup.Current), orNone(sup.Base))}
}

// noDocument says why a request without text or reference is back.
func (w *policyChange) noDocument() sentBack {
	return sentBack{stepNoDocument, fmt.Sprintf("Not published: the request has neither the policy's new text nor a reference to where it lives, "+
		"and a policy version is published with its document. Resubmit it with the text "+
		"(`starter change-request resubmit %s --text FILE --as %s`) or a reference (`--reference URL`, or mark this done "+
		"with the URL as the note), or withdraw it.", w.st.RequestID, w.in.RequesterID)}
}

// sendBack returns an approved request to its requester, the reason
// recorded as the round's last decision.
func (w *policyChange) sendBack(ctx workflow.Context, back sentBack) {
	w.round().Decisions = append(w.round().Decisions, humantask.Decision{Step: back.step, By: "complyflow", Action: humantask.ActionReject, Note: back.note, At: workflow.Now(ctx)})
	w.st.Stage, w.st.OpenTask = act.StatusReturned, ""
	w.answered, w.answering = false, false
}

func (w *policyChange) round() *Round { return &w.st.Rounds[len(w.st.Rounds)-1] }

func (w *policyChange) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** (%s), currently version %s\n\n", w.info.Policy.Title, w.in.PolicyID, orNone(w.info.Policy.Version))
	fmt.Fprintf(&b, "- Requested by: %s (%s)\n- Kind: %s change\n- Summary: %s\n", w.info.RequesterName, w.in.RequesterID, w.kind, w.in.Summary)
	if w.in.Reference != "" {
		fmt.Fprintf(&b, "- Reference: %s\n", w.in.Reference)
	}
	if w.in.NeedsProductionChange {
		b.WriteString("- Needs a change to production systems (change management)\n")
	}
	for _, r := range w.st.Rounds[1:] {
		fmt.Fprintf(&b, "- Resubmitted (round %d): %s\n", r.Round, r.Note)
	}
	if w.in.Text != "" {
		fmt.Fprintf(&b, "\nProposed text:\n\n%s\n", w.in.Text)
	}
	return b.String()
}

func orNone(v string) string {
	if v == "" {
		return "(none yet)"
	}
	return v
}

// decide records a decision of the current round and moves to stage.
func (w *policyChange) decide(ctx workflow.Context, step string, out humantask.Outcome, stage string) error {
	return w.decideAs(ctx, step, out, stage, "")
}

// decideAs is decide for a decision actedBy gave on out.By's behalf ("" if
// out.By gave it): the audit log names actedBy as the actor.
func (w *policyChange) decideAs(ctx workflow.Context, step string, out humantask.Outcome, stage, actedBy string) error {
	w.round().Decisions = append(w.round().Decisions, humantask.Decision{Step: step, TaskID: out.TaskID, By: out.By, Action: out.Action, Note: out.Note, At: out.At})
	w.st.Stage, w.st.OpenTask = stage, ""
	if stage == act.StatusReturned {
		// A new return: the requester may answer it once, by task or update.
		w.answered, w.answering = false, false
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.RecordChangeDecision,
		act.ChangeDecisionInput{
			RequestID: w.st.RequestID, Round: w.round().Round, Step: step, TaskID: out.TaskID, By: out.By,
			Action: string(out.Action), Note: out.Note, At: out.At, Status: stage, Controls: w.info.Controls, ActedBy: actedBy,
		}).Get(ctx, nil)
}

func (w *policyChange) task(ctx workflow.Context, t humantask.Child) (humantask.Outcome, error) {
	t.Controls, t.Due, t.Remind = w.info.Controls, w.in.DuePeriod, w.in.RemindEvery
	w.st.OpenTask = humantask.ID(w.st.RequestID, t.Purpose)
	return t.Run(ctx)
}

// approvals runs one round's review and, for a material change, the second
// approval, and for a product development policy the Head of Engineering's.
// It reports false when any of them rejected the round.
func (w *policyChange) approvals(ctx workflow.Context) (bool, error) {
	r := w.round().Round
	w.st.Stage = act.StatusInReview
	// The Privacy Officer may review too once the Security Officer's task is
	// overdue, never the requester.
	escalation := w.escalateToRole("privacy_officer")
	out, err := w.task(ctx, humantask.Child{
		Purpose: fmt.Sprintf("review/%d", r), Assignee: w.info.Reviewers[0], Escalation: escalation,
		Subject: fmt.Sprintf("Review policy change request: %s (%s)", w.info.Policy.Title, w.kind),
		Body:    w.describe() + "\nApprove it, or reject it back to the requester with a note saying what is missing.",
		Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject},
	})
	if err != nil {
		return false, err
	}
	if out.Action != humantask.ActionApprove {
		return false, w.decide(ctx, "review", out, act.StatusReturned)
	}
	if w.kind == policy.Material {
		if err := w.decide(ctx, "review", out, act.StatusAwaitingSecondApproval); err != nil {
			return false, err
		}
		if approved, err := w.secondApproval(ctx); err != nil || !approved {
			return false, err
		}
	} else if err := w.decide(ctx, "review", out, w.afterApproval()); err != nil {
		return false, err
	}
	if len(w.info.Engineering) == 0 {
		return true, nil
	}
	// policy-management (c): product development policies also need the Head of Engineering.
	out, err = w.task(ctx, humantask.Child{
		Purpose: fmt.Sprintf("engineering-approval/%d", r), Assignee: w.info.Engineering[0],
		// Overdue, it goes to the role's other holders of the day, never the requester.
		Escalation: w.escalateToRole("head_of_engineering", w.info.Engineering[0]),
		Subject:    fmt.Sprintf("Approve product development policy change: %s", w.info.Policy.Title),
		Body: w.describe() + "\nThe policy is about product development, so the Head of Engineering approves its changes too: " +
			"approve it, or reject it back to the requester with a note.",
		Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject},
	})
	if err != nil {
		return false, err
	}
	if out.Action != humantask.ActionApprove {
		return false, w.decide(ctx, "engineering-approval", out, act.StatusReturned)
	}
	return true, w.decide(ctx, "engineering-approval", out, w.approved())
}

// escalateToRole hands an overdue task to whoever holds role when the step
// fires, so someone appointed since the request opened is reached and
// someone removed is not, but never to the requester, who may not approve
// their own request, nor the people in also (the task's assignee, when the
// role is the assignee's own: the step is for its other holders).
func (w *policyChange) escalateToRole(role string, also ...string) []workflows.EscalationStep {
	return []workflows.EscalationStep{{After: 0, To: "role:" + role, Except: append([]string{w.in.RequesterID}, also...)}}
}

// afterApproval is the stage after the officer's (and CEO's) approval.
func (w *policyChange) afterApproval() string {
	if len(w.info.Engineering) > 0 {
		return act.StatusAwaitingEngineering
	}
	return w.approved()
}

// approved is the stage once every approval is in. The decision that
// starts it records it, so the records say what the request waits for.
func (w *policyChange) approved() string {
	if w.in.NeedsProductionChange {
		return act.StatusAwaitingProductionChange
	}
	return act.StatusApproved
}

// secondApproval asks the CEO, the designee once the task is overdue.
func (w *policyChange) secondApproval(ctx workflow.Context) (bool, error) {
	r := w.round().Round
	out, err := w.task(ctx, humantask.Child{
		Purpose: fmt.Sprintf("second-approval/%d", r), Assignee: w.info.SecondApprovers[0], Escalation: w.escalateToRole("ceo_designee"),
		Subject: fmt.Sprintf("Approve material policy change: %s", w.info.Policy.Title),
		Body: w.describe() + fmt.Sprintf("\nApproved by the officer %s. A material change also needs the CEO or designee: approve it, "+
			"or reject it back to the requester with a note.", w.round().Decisions[0].By),
		Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject},
	})
	if err != nil {
		return false, err
	}
	if out.Action != humantask.ActionApprove {
		return false, w.decide(ctx, "second-approval", out, act.StatusReturned)
	}
	return true, w.decide(ctx, "second-approval", out, w.afterApproval())
}

// returned hands the rejection back to the requester, who resubmits (done,
// the note saying what changed or where the new text is) or withdraws
// (reject). It reports whether the request goes round again.
func (w *policyChange) returned(ctx workflow.Context) (bool, error) {
	last := w.round().Decisions[len(w.round().Decisions)-1]
	w.st.Stage = act.StatusReturned
	tctx, cancelTask := workflow.WithCancel(ctx)
	defer cancelTask()
	t := humantask.Child{
		Purpose: fmt.Sprintf("returned/%d", w.round().Round), Assignee: w.in.RequesterID,
		Subject: fmt.Sprintf("Your policy change request was returned: %s", w.info.Policy.Title),
		Body: w.describe() + fmt.Sprintf("\n%s\n\nMark it done to resubmit, your note saying what you changed "+
			"(or where the new text is); reject it to withdraw the request. With new text, resubmit it with "+
			"`starter change-request resubmit %s --text FILE` instead.", returnReason(last), w.st.RequestID),
		Actions:  []humantask.Action{humantask.ActionDone, humantask.ActionReject},
		Controls: w.info.Controls, Due: w.in.DuePeriod, Remind: w.in.RemindEvery,
	}
	id, task := t.Start(tctx)
	w.st.OpenTask = id

	var out humantask.Outcome
	var resubmit *ResubmitRequest
	var actedBy string
	var taskErr error
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(task, func(f workflow.Future) {
		taskErr = f.Get(ctx, &out)
		out.TaskID = id
	})
	sel.AddReceive(w.responses, func(c workflow.ReceiveChannel, _ bool) {
		var r changeResponse
		c.Receive(ctx, &r)
		out, resubmit, actedBy = r.outcome, r.resubmit, r.actedBy
		r.reply.taken = true
		cancelTask() // answered by update: the task is moot
	})
	sel.Select(ctx)
	w.answered = true
	// An update that arrived with the task's outcome lost the race: refuse
	// it now rather than let it answer the next return.
	var stale changeResponse
	for w.responses.ReceiveAsync(&stale) {
		stale.reply.err = errAlreadyAnswered
	}
	if taskErr != nil {
		return false, fmt.Errorf("task %s: %w", id, taskErr)
	}
	if out.Action != humantask.ActionDone {
		return false, w.decideAs(ctx, "response", out, act.StatusWithdrawn, actedBy)
	}
	if err := w.decideAs(ctx, "response", out, act.StatusInReview, actedBy); err != nil {
		return false, err
	}
	switch {
	case resubmit != nil:
		if resubmit.Text != "" {
			w.in.Text = resubmit.Text
		}
		if resubmit.Reference != "" {
			w.in.Reference = resubmit.Reference
		}
	case strings.HasPrefix(out.Note, "http://") || strings.HasPrefix(out.Note, "https://"):
		w.in.Reference = out.Note
	}
	next := Round{Round: w.round().Round + 1, Submitted: out.At, Note: out.Note}
	w.st.Rounds = append(w.st.Rounds, next)
	return true, workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.RecordResubmission,
		act.ChangeRoundInput{RequestID: w.st.RequestID, Round: next.Round, Body: w.in.Text, Reference: w.in.Reference,
			Note: out.Note, By: out.By, ActedBy: actedBy, At: out.At, Controls: w.info.Controls}).Get(ctx, nil)
}

// returnReason says why the request came back to its requester.
func returnReason(d humantask.Decision) string {
	if d.Step == stepSuperseded || d.Step == stepNoDocument {
		return d.Note
	}
	return fmt.Sprintf("%s rejected it: %s", d.By, d.Note)
}

// changeResponse is the requester's answer to a return given by update.
type changeResponse struct {
	outcome  humantask.Outcome
	resubmit *ResubmitRequest
	actedBy  string // who answered for the requester, if not them
	reply    *responseReply
}

// responseReply is what became of one update's answer: taken by returned(),
// or refused because the return was answered another way first.
type responseReply struct {
	taken bool
	err   error
}

var errAlreadyAnswered = temporal.NewNonRetryableApplicationError(
	"the request was already answered (its task was completed first); nothing was changed", "AlreadyAnswered", nil)

// respond is the body of both updates: it hands the answer to returned(),
// which is waiting for it, and reports the stage the request moved to. An
// update answers only once its own answer was taken.
func (w *policyChange) respond(ctx workflow.Context, r changeResponse) (string, error) {
	// Checked and sent without yielding: at most one answer per return is
	// ever in the channel, and returned() drains it if it lost.
	if w.answered || w.answering || w.st.Stage != act.StatusReturned {
		return "", errAlreadyAnswered
	}
	r.reply = &responseReply{}
	w.answering = true
	w.responses.Send(ctx, r)
	if err := workflow.Await(ctx, func() bool { return r.reply.taken || r.reply.err != nil }); err != nil {
		return "", err
	}
	if r.reply.err != nil {
		return "", r.reply.err
	}
	if err := workflow.Await(ctx, func() bool { return w.st.Stage != act.StatusReturned }); err != nil {
		return "", err
	}
	return w.st.Stage, nil
}

func (w *policyChange) validateResponse(personID string) error {
	switch {
	case w.st.Stage != act.StatusReturned || w.answering:
		return fmt.Errorf("change request %s is %s, not returned to its requester", w.st.RequestID, w.st.Stage)
	case personID != w.in.RequesterID:
		return fmt.Errorf("only the requester, %s, may resubmit or withdraw change request %s", w.in.RequesterID, w.st.RequestID)
	}
	return nil
}

// productionChange waits for the change-management reference of the
// production change the policy needs; the requester gives it as the note.
func (w *policyChange) productionChange(ctx workflow.Context) error {
	for {
		// Numbered across the request: one sent back after approval asks again under a new ID.
		w.prodAttempts++
		out, err := w.task(ctx, humantask.Child{
			Purpose: fmt.Sprintf("production-change/%d", w.prodAttempts), Assignee: w.in.RequesterID,
			Subject: fmt.Sprintf("Change-management reference needed before publishing: %s", w.info.Policy.Title),
			Body: w.describe() + "\nThe change is approved and needs a change to production systems. Carry it out through " +
				"change management and mark this done with the change ticket's reference as the note; the policy is published then.",
			Actions: []humantask.Action{humantask.ActionDone},
		})
		if err != nil {
			return err
		}
		if strings.TrimSpace(out.Note) == "" {
			workflow.GetLogger(ctx).Warn("production change confirmed without a reference; asking again", "task", out.TaskID)
			continue
		}
		w.st.ProductionChangeRef = out.Note
		return w.decide(ctx, "production-change", out, act.StatusApproved)
	}
}

// publish archives and publishes in one activity (the database refuses the
// other order), records the re-acknowledgement owed, then announces. The
// version's year is the year the change was approved.
//
// The announcement is retried until it goes out, a mail misconfiguration
// included: the version is in effect, so failing the run would only lose the
// announcement and the records of it.
func (w *policyChange) publish(ctx workflow.Context, approvedAt time.Time) (*sentBack, error) {
	w.st.Stage = act.StatusApproved
	actx := workflow.WithActivityOptions(ctx, workflows.RecordOptions)
	var pub act.PublishedVersion
	if err := workflow.ExecuteActivity(actx, policyAct.PublishPolicyVersion, act.PublishInput{
		RequestID: w.st.RequestID, Round: w.round().Round, PolicyID: w.in.PolicyID, Kind: w.kind, Summary: w.in.Summary, Body: w.in.Text,
		Reference: w.in.Reference, PublishedBy: w.lastApprover(), ChangeAt: approvedAt, Controls: w.info.Controls,
		Announcing: true,
	}).Get(ctx, &pub); err != nil {
		var appErr *temporal.ApplicationError
		var sup act.Superseded
		switch {
		case errors.As(err, &appErr) && appErr.Type() == "Superseded" && appErr.Details(&sup) == nil:
			back := w.superseded(sup)
			return &back, nil
		case errors.As(err, &appErr) && appErr.Type() == act.NoDocumentError:
			back := w.noDocument()
			return &back, nil
		}
		return nil, err
	}
	w.st.Version, w.st.ArchivedVersion, w.st.PublishedAt = pub.Version, pub.ArchivedVersion, pub.PublishedAt
	// Deprecated since the request opened: kept on record (the publish's
	// audit entry says so), not announced, no acknowledgement owed.
	if pub.PolicyDeprecated {
		w.st.Stage = act.StatusPublished
		return nil, nil
	}
	if err := w.reacknowledgementOwed(ctx, pub.Version); err != nil {
		return nil, err
	}
	w.st.Stage = act.StatusAnnouncing
	slackRes, sent, err := announce(ctx, act.AnnouncementInput{
		RequestID: w.st.RequestID, PolicyID: w.in.PolicyID, PolicyTitle: w.info.Policy.Title, Version: pub.Version,
		Kind: string(w.kind), Summary: w.in.Summary,
	})
	w.st.Announced = sent
	if err != nil {
		return nil, err
	}
	if err := workflow.ExecuteActivity(actx, policyAct.RecordAnnouncement, act.AnnouncedInput{
		RequestID: w.st.RequestID, PolicyID: w.in.PolicyID, Version: pub.Version, Emailed: sent, Slack: slackRes.Status,
		Controls: w.info.Controls,
	}).Get(ctx, nil); err != nil {
		return nil, err
	}
	// Published means done: announced, and the re-acknowledgement recorded.
	w.st.Stage = act.StatusPublished
	return nil, nil
}

// reacknowledgementOwed records, for a material change, that everyone owes
// an acknowledgement of the new version, and starts the campaign that
// collects it. A minor revision keeps the signatures already given.
func (w *policyChange) reacknowledgementOwed(ctx workflow.Context, version string) error {
	if w.kind != policy.Material {
		return nil
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), policyAct.RecordReacknowledgementOwed,
		act.ReacknowledgementInput{RequestID: w.st.RequestID, PolicyID: w.in.PolicyID, Version: version, Controls: w.info.Controls,
			CampaignID: campaign.ReacknowledgementID(w.in.PolicyID, version)}).Get(ctx, nil); err != nil {
		return err
	}
	return campaign.StartReacknowledgement(ctx, w.in.PolicyID, version, w.st.RequestID)
}

// lastApprover is who gave the final approval: the one the publish is on.
func (w *policyChange) lastApprover() string {
	for _, d := range slices.Backward(w.round().Decisions) {
		if d.Action == humantask.ActionApprove {
			return d.By
		}
	}
	return w.in.RequesterID
}
