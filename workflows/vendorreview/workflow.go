package vendorreview

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	act "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
)

var (
	vendorAct *act.Activities
	taskAct   *taskact.Tasks
)

const day = 24 * time.Hour

// taskEscalation is how the review and follow-up tasks escalate once
// overdue, as every person's task does (DESIGN, people and escalation): to
// the assignee's manager, then the security officer.
var taskEscalation = []workflows.EscalationStep{{After: 3 * day, To: workflows.EscalateToManager}, {After: 7 * day, To: "role:security_officer"}}

// Workflow runs one vendor's review cycle until a report is accepted and
// its follow-ups are done: request, reminders and escalation until a report
// is uploaded, its review, and a rejected report asked for again.
func Workflow(ctx workflow.Context, in Input) (Status, error) {
	w, err := newVendorReview(ctx, in)
	if err != nil {
		return Status{}, err
	}
	return w.run(ctx)
}

type vendorReview struct {
	in     Input
	info   act.ReviewInfo
	st     Status
	upload *UploadRequest // the round's report, once received
	// recording is set while an upload is being recorded, so a second one
	// is refused rather than raced.
	recording bool
}

func newVendorReview(ctx workflow.Context, in Input) (*vendorReview, error) {
	if in.VendorID == "" || in.Cycle == "" || in.DuePeriod <= 0 || in.CadenceMonths <= 0 || in.RequestBeforeDays < 0 {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"vendor review: needs a vendor, a cycle, a due period and a cadence (got %+v)", in), refusal.Type, nil)
	}
	if in.Round < 1 {
		in.Round = 1
	}
	w := &vendorReview{in: in, st: Status{ReviewID: workflow.GetInfo(ctx).WorkflowExecution.ID, VendorID: in.VendorID,
		Stage: act.StatusRequested, Round: in.Round}}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (Status, error) { return w.st, nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateUpload, w.receive,
		workflow.UpdateHandlerOptions{Validator: w.validateUpload}); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *vendorReview) run(ctx workflow.Context) (Status, error) {
	now := workflow.Now(ctx)
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), vendorAct.OpenReview, act.OpenReviewInput{
		ID: w.st.ReviewID, VendorID: w.in.VendorID, Cycle: w.in.Cycle, ReviewerID: w.in.ReviewerID, Controls: w.in.ControlIDs,
		CadenceMonths: w.in.CadenceMonths, RequestBeforeDays: w.in.RequestBeforeDays, At: now, Due: now.Add(w.in.DuePeriod),
	}).Get(ctx, &w.info)
	if err != nil {
		return w.st, err
	}
	reason := ""
	for {
		if err := w.request(ctx, reason); err != nil {
			return w.st, err
		}
		r, err := w.review(ctx)
		if err != nil {
			return w.st, err
		}
		if r.decision != act.DecisionReject {
			if err := w.followUps(ctx, r); err != nil {
				return w.st, err
			}
			break
		}
		// Rejected: ask the vendor again, saying why (issue 12 item 5).
		reason = r.note
		w.st.Round++
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return w.st, err
			}
			next := w.in
			next.Round = w.st.Round
			return w.st, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
	}
	w.st.Stage = act.StatusAccepted
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.st, err
	}
	return w.st, nil
}

// request asks the vendor's contact for the round's report and waits for it:
// reminders on the cadence to everyone asked so far; at the due date the
// vendor's owner is asked (they may chase, or upload themselves), then each
// escalation step after it (the security officer).
func (w *vendorReview) request(ctx workflow.Context, reason string) error {
	var wt Waiting
	w.upload = nil // before the stage says requested, so the validator admits the round's report
	if r := w.in.Resume; r != nil {
		// Continued as new while waiting: pick the round up where it was.
		w.in.Resume = nil
		w.st, wt = r.Status, r.Waiting
	} else {
		now := workflow.Now(ctx)
		w.st.Stage, w.st.Due, w.st.Reminders = act.StatusRequested, now.Add(w.in.DuePeriod), 0
		w.st.Entitled = []string{act.ContactID(w.in.VendorID), w.info.Vendor.OwnerID}
		wt = Waiting{Started: now, Asked: []string{""}, Reason: reason}
		if w.st.Round > 1 {
			err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), vendorAct.OpenRound, act.RoundInput{
				ID: w.st.ReviewID, Round: w.st.Round, At: now, Due: w.st.Due, Reason: reason, Controls: w.info.Controls,
			}).Get(ctx, nil)
			if err != nil {
				return err
			}
		}
		w.send(ctx, "", fmt.Sprintf("request/%d", w.st.Round), reason)
	}
	steps := append([]workflows.EscalationStep{{To: w.info.Vendor.OwnerID}}, w.in.Escalation...)
	received := func() bool { return w.upload != nil }
	for !received() {
		// A vendor that never answers is reminded for as long as the cycle
		// is open: keep the history short.
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			if received() {
				break
			}
			next := w.in
			next.Round, next.Resume = w.st.Round, &Resume{Status: w.st, Waiting: wt}
			return workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
		wake := time.Time{}
		if w.in.RemindEvery > 0 {
			wake = wt.Started.Add(time.Duration(w.st.Reminders+1) * w.in.RemindEvery)
		}
		if wt.Steps < len(steps) {
			if at := w.st.Due.Add(steps[wt.Steps].After); wake.IsZero() || at.Before(wake) {
				wake = at
			}
		}
		if wake.IsZero() {
			if err := workflow.Await(ctx, received); err != nil {
				return err
			}
			break
		}
		if _, err := workflow.AwaitWithTimeout(ctx, wake.Sub(workflow.Now(ctx)), received); err != nil {
			return err
		}
		if received() {
			break
		}
		if err := w.onTime(ctx, steps, &wt); err != nil {
			return err
		}
	}
	return nil
}

// onTime does what has come due while waiting for the report: the
// escalation steps reached, then a reminder to everyone asked.
func (w *vendorReview) onTime(ctx workflow.Context, steps []workflows.EscalationStep, wt *Waiting) error {
	now := workflow.Now(ctx)
	for wt.Steps < len(steps) && !now.Before(w.st.Due.Add(steps[wt.Steps].After)) {
		wt.Steps++
		people, err := w.resolve(ctx, steps[wt.Steps-1])
		if err != nil {
			return err
		}
		for _, p := range people {
			if slices.Contains(wt.Asked, p) {
				continue
			}
			wt.Asked = append(wt.Asked, p)
			w.st.Escalated = append(w.st.Escalated, p)
			if !slices.Contains(w.st.Entitled, p) {
				w.st.Entitled = append(w.st.Entitled, p)
			}
			w.send(ctx, p, fmt.Sprintf("escalated/%d/%d", w.st.Round, wt.Steps), wt.Reason)
		}
	}
	if w.in.RemindEvery > 0 && !now.Before(wt.Started.Add(time.Duration(w.st.Reminders+1)*w.in.RemindEvery)) {
		// After an outage, one reminder, not one per missed interval.
		w.st.Reminders = int(now.Sub(wt.Started) / w.in.RemindEvery)
		for _, p := range wt.Asked {
			w.send(ctx, p, fmt.Sprintf("reminder/%d/%d", w.st.Round, w.st.Reminders), wt.Reason)
		}
	}
	return nil
}

// send mails one request, reminder or escalation (person "" is the
// vendor's contact). A message that cannot be sent is logged and the cycle
// goes on: the next reminder asks again, and escalation does not wait on it.
func (w *vendorReview) send(ctx workflow.Context, person, purpose, reason string) {
	var res act.RequestResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.MessageOptions), vendorAct.SendRequest, act.RequestInput{
		ID: w.st.ReviewID, VendorID: w.in.VendorID, PersonID: person, Purpose: purpose, Due: w.st.Due, Reason: reason,
		Controls: w.info.Controls,
	}).Get(ctx, &res)
	if err != nil || res.Status != notify.StatusSent {
		workflow.GetLogger(ctx).Warn("vendor review message not sent", "review", w.st.ReviewID, "purpose", purpose, "to", person,
			"err", err, "refused", res.Error)
	}
}

// resolve is who an escalation step reaches today (the directory decides
// who holds a role when the step fires).
func (w *vendorReview) resolve(ctx workflow.Context, step workflows.EscalationStep) ([]string, error) {
	var res taskact.ResolveEscalationResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), taskAct.ResolveEscalation,
		taskact.ResolveEscalationInput{AssigneeID: w.info.Vendor.OwnerID, To: step.To, Except: step.Except}).Get(ctx, &res)
	if err == nil && len(res.PersonIDs) == 0 {
		workflow.GetLogger(ctx).Warn("vendor review escalation reached nobody", "review", w.st.ReviewID, "to", step.To, "reason", res.Reason)
	}
	return res.PersonIDs, err
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// validateUpload admits a report only while the round waits for one, only
// from someone the cycle asked (or the owner), only for a stored file.
func (w *vendorReview) validateUpload(req UploadRequest) error {
	switch {
	case w.st.Stage != act.StatusRequested || w.upload != nil || w.recording:
		return fmt.Errorf("%s is not waiting for a report: it is %s", w.st.ReviewID, w.st.Stage)
	case !sha256Hex.MatchString(req.SHA256):
		return fmt.Errorf("%q is not the SHA-256 of a stored file", req.SHA256)
	case !slices.Contains(w.st.Entitled, req.Uploader):
		return fmt.Errorf("%q may not send the report of %s", req.Uploader, w.st.ReviewID)
	}
	return nil
}

// receive records the report before admitting it, so once the update
// returns Postgres shows the cycle as received.
func (w *vendorReview) receive(ctx workflow.Context, req UploadRequest) (UploadResult, error) {
	if err := w.validateUpload(req); err != nil {
		return UploadResult{}, err
	}
	w.recording = true
	defer func() { w.recording = false }()
	// The uploader is waiting on the page: give up within about a minute;
	// the file is stored, so sending it again records it.
	opts := workflow.ActivityOptions{StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5}}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), vendorAct.RecordUpload, act.UploadInput{
		ID: w.st.ReviewID, Round: w.st.Round, SHA256: req.SHA256, Uploader: req.Uploader, At: workflow.Now(ctx), Controls: w.info.Controls,
	}).Get(ctx, nil)
	if err != nil {
		return UploadResult{}, fmt.Errorf("the report could not be recorded, try again: %w", err)
	}
	w.upload = &req
	w.st.Evidence, w.st.Stage = req.SHA256, act.StatusReceived
	return UploadResult{ReviewID: w.st.ReviewID, Round: w.st.Round}, nil
}

// review hands the report to the reviewer with the review form and records
// the decision.
func (w *vendorReview) review(ctx workflow.Context) (review, error) {
	v := w.info.Vendor
	body := fmt.Sprintf("%s (%s, criticality %s) sent its report for cycle %s, round %d (SHA-256 %s); open it from this task's page.\n\n"+
		"Record what the report is and found, the complementary user-entity controls (CUECs) we must operate, each with the control of ours "+
		"that does, whether a bridge letter is needed (the period ended more than 3 months ago) and received, and your decision. "+
		"Rejecting asks the vendor again, with your note.", v.Name, v.ID, v.Criticality, w.in.Cycle, w.st.Round, w.st.Evidence)
	out, err := humantask.Child{
		Purpose: fmt.Sprintf("review/%d", w.st.Round), Assignee: w.info.ReviewerID, Subject: "Review " + v.Name + "'s security report",
		Body: body, Actions: []humantask.Action{humantask.ActionDone}, Controls: w.info.Controls, Form: reviewForm(w.info.Program),
		Escalation: taskEscalation,
	}.Run(ctx)
	if err != nil {
		return review{}, err
	}
	w.st.Decisions = append(w.st.Decisions, humantask.DecisionOf("review", out))
	r := readReview(out.Values)
	var res act.DecisionResult
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), vendorAct.RecordDecision, act.DecisionInput{
		ID: w.st.ReviewID, Round: w.st.Round, TaskID: out.TaskID, By: out.By, At: out.At, Decision: r.decision, Note: r.note,
		Findings: r.findings, FollowUps: r.followUps, Controls: w.info.Controls,
	}).Get(ctx, &res)
	if err != nil {
		return review{}, err
	}
	r.followUps = res.FollowUps
	w.st.NextRequestAt = res.NextRequestAt
	return r, nil
}

// followUps hands each follow-up of an acceptance to its owner as a task
// due on its date, and waits until every one is done.
func (w *vendorReview) followUps(ctx workflow.Context, r review) error {
	if len(r.followUps) == 0 {
		return nil
	}
	w.st.Stage = act.StatusFollowUps
	futures := make([]workflow.ChildWorkflowFuture, len(r.followUps))
	for i, f := range r.followUps {
		due := f.Due.Add(17 * time.Hour).Sub(workflow.Now(ctx)) // the end of the working day, UTC
		if due < day {
			due = day
		}
		var id string
		id, futures[i] = humantask.Child{
			Purpose: fmt.Sprintf("follow-up/%d/%d", w.st.Round, i+1), Assignee: f.OwnerID,
			Subject: fmt.Sprintf("Follow-up on %s's security report: %s", w.info.Vendor.Name, f.Title),
			Body: fmt.Sprintf("The review of %s's report (cycle %s) accepted it with this follow-up for you:\n\n%s\n\nMark it done once it is.",
				w.info.Vendor.Name, w.in.Cycle, f.Title),
			Actions: []humantask.Action{humantask.ActionDone}, Controls: w.info.Controls, Due: due,
			Escalation: taskEscalation,
		}.Start(ctx)
		w.st.FollowUps = append(w.st.FollowUps, id)
	}
	for i, f := range futures {
		var out humantask.Outcome
		if err := f.Get(ctx, &out); err != nil {
			return fmt.Errorf("follow-up %s: %w", w.st.FollowUps[i], err)
		}
		w.st.Decisions = append(w.st.Decisions, humantask.DecisionOf("follow-up", out))
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), vendorAct.RecordFollowUpsClosed,
		act.ClosedInput{ID: w.st.ReviewID, Round: w.st.Round, At: workflow.Now(ctx), Controls: w.info.Controls}).Get(ctx, nil)
}
