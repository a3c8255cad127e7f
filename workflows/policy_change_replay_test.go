package workflows

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/complyflow/complyflow/activities"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The policy workflows' replay tests: each replays a history recorded from a
// real run on the dev server, so a change that breaks determinism for runs
// in flight fails here. UPDATE_HISTORIES=1 records them again.
// The workflow IDs are fixed because the workflows name their children
// after their own ID, and a replay must see the same names. The first three
// are recorded again by UPDATE_HISTORIES=1; the others are kept as recorded
// by older code, so runs that started then still replay.
var policyHistories = []struct {
	file     string
	workflow string
	fn       any
	id       string
}{
	{"policy_change_request_current.json", PolicyChangeRequestWorkflow, PolicyChangeRequest, PolicyChangeRequestID("access", "replay")},
	{"policy_exception_current.json", PolicyExceptionWorkflow, PolicyException, PolicyExceptionID("access", "replay")},
	{"annual_policy_review_current.json", AnnualPolicyReviewWorkflow, AnnualPolicyReview, "annual-policy-review/replay"},
	// Before "update-once", "announce-concurrently" and "review-unclear-lines".
	{"policy_change_request.json", PolicyChangeRequestWorkflow, PolicyChangeRequest, PolicyChangeRequestID("access", "replay")},
	{"policy_exception.json", PolicyExceptionWorkflow, PolicyException, PolicyExceptionID("access", "replay")},
	{"annual_policy_review.json", AnnualPolicyReviewWorkflow, AnnualPolicyReview, "annual-policy-review/replay"},
	// Before the announcement's audit entry (GetVersion "audit-announcement").
	{"policy_change_request_before_announce_audit.json", PolicyChangeRequestWorkflow, PolicyChangeRequest, PolicyChangeRequestID("access", "replay")},
	// Before "owed-then-announce" and "requester-not-approver".
	{"policy_change_request_before_requester_not_approver.json", PolicyChangeRequestWorkflow, PolicyChangeRequest, PolicyChangeRequestID("access", "replay")},
	// Before "exception-escalation-excludes-requester" and "exception-renewal-refused".
	{"policy_exception_before_requester_excluded.json", PolicyExceptionWorkflow, PolicyException, PolicyExceptionID("access", "replay")},
	// Before "review-sign-off-rejection" (that run's sign-off was approved at once).
	{"annual_policy_review_before_sign_off_rejection.json", AnnualPolicyReviewWorkflow, AnnualPolicyReview, "annual-policy-review/replay"},
	// Before "review-refused-change".
	{"annual_policy_review_before_refused_change.json", AnnualPolicyReviewWorkflow, AnnualPolicyReview, "annual-policy-review/replay"},
	// Before "escalate-role-except-requester".
	{"policy_change_request_before_role_escalation.json", PolicyChangeRequestWorkflow, PolicyChangeRequest, PolicyChangeRequestID("access", "replay")},
	{"policy_exception_before_role_escalation.json", PolicyExceptionWorkflow, PolicyException, PolicyExceptionID("access", "replay")},
	// Exceptions taking branches the current recording does not; recorded by
	// UPDATE_EXCEPTION_HISTORIES=1 (recordExceptionHistories).
	{"policy_exception_renewal.json", PolicyExceptionWorkflow, PolicyException, PolicyExceptionID("access", "replay-renewal")},
	{"policy_exception_approved_after_expiry.json", PolicyExceptionWorkflow, PolicyException, PolicyExceptionID("access", "replay-late")},
	{"policy_exception_renewal_refused.json", PolicyExceptionWorkflow, PolicyException, PolicyExceptionID("access", "replay-refused")},
}

func TestPolicyWorkflowsReplay(t *testing.T) {
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		recordPolicyHistories(t)
	}
	if os.Getenv("UPDATE_EXCEPTION_HISTORIES") == "1" {
		recordExceptionHistories(t)
	}
	for _, h := range policyHistories {
		t.Run(h.file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(h.fn, workflow.RegisterOptions{Name: h.workflow})
			logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			f, err := os.Open(filepath.Join("testdata", h.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.ReplayWorkflowHistoryWithOptions(logger, hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: h.id},
			}); err != nil {
				t.Fatalf("replay %s: %v", h.file, err)
			}
		})
	}
}

// recordPolicyHistories runs each workflow on the dev server against a real
// Postgres and SMTP sink, human tasks answered by a script, and writes the
// histories to testdata/.
func recordPolicyHistories(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicyWorld(t, db)
	c := testenv.Temporal(t)

	// Answers by task purpose (the task ID after its parent's ID).
	script := map[string]answer{
		"review/1":           {by: "sam", action: ActionReject, note: "cite the control"},
		"returned/1":         {by: "eve", action: ActionDone, note: "https://git.example.com/policies/pull/7"},
		"review/2":           {by: "sam", action: ActionApprove},
		"second-approval/1":  {by: "cleo", action: ActionApprove},
		"second-approval/2":  {by: "cleo", action: ActionApprove},
		"security_officer/1": {by: "sam", action: ActionApprove},
		"coo/1":              {by: "coby", action: ActionApprove},
		"re-evaluation/1":    {after: 3 * time.Second, by: "sam", action: ActionReject, note: "close it"},
		"open":               {by: "sam", action: ActionDone},
		"review/1/eve":       {by: "eve", action: ActionApprove},
		"review/1/pat":       {by: "pat", action: ActionReject, note: "privacy: name the Data Protection Officer\nand how to reach them"},
		"sign-off/1":         {by: "sam", action: ActionReject, note: "say which policies the privacy change touches"},
		"review/2/eve":       {by: "eve", action: ActionApprove},
		"review/2/pat":       {by: "pat", action: ActionApprove},
		"sign-off/2":         {by: "sam", action: ActionApprove},
	}
	queue := startRecordingWorker(t, c, db, func(in HumanTaskInput, purpose string) (answer, bool) {
		if strings.HasPrefix(in.ParentRef, "change-request/privacy/") && purpose == "review/1" {
			return answer{by: "sam", action: ActionApprove}, true
		}
		a, ok := script[purpose]
		return a, ok
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inputs := []any{
		PolicyChangeInput{PolicyID: "access", Kind: "material",
			Summary: "require MFA for production", Text: "v2", RequesterID: "eve"},
		PolicyExceptionInput{PolicyID: "access", RequesterID: "eve",
			Purpose: "legacy VPN appliance", Reason: "it cannot do MFA", Expires: time.Now().Add(2 * time.Second)},
		ScheduledRun{ObligationID: "annual-policy-review", Process: ProcessAnnualPolicyReview,
			DuePeriod: 14 * day, RemindEvery: 3 * day},
	}
	for i, in := range inputs {
		h := policyHistories[i]
		wf, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: h.id, TaskQueue: queue}, h.workflow, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := wf.Get(ctx, nil); err != nil {
			t.Fatalf("%s: %v", h.workflow, err)
		}
		writeHistory(ctx, t, c, h.id, wf.GetRunID(), h.file)
	}
}

// recordExceptionHistories runs the exceptions whose histories exercise the
// determinism guards the current recording never reaches: a renewal decided
// while the term runs ("renewal-keeps-term"), an approval that comes after the
// expiry asked for ("exception-expiry-before-approval"), and a renewal only
// the requester could approve ("exception-renewal-refused").
func recordExceptionHistories(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicyWorld(t, db)
	c := testenv.Temporal(t)
	ids := map[string]string{}
	for _, h := range policyHistories {
		ids[h.file] = h.id
	}

	scenarios := []struct {
		file      string
		requester string
		term      time.Duration     // from the start to the expiry asked for
		answers   map[string]answer // by task purpose
		before    string            // SQL run before the start
	}{
		// Renewed at once, well inside the term, so the renewal run (round 2)
		// starts with the term still in effect.
		{"policy_exception_renewal.json", "eve", 20 * time.Second, map[string]answer{
			"security_officer/1": {by: "sam", action: ActionApprove},
			"coo/1":              {by: "coby", action: ActionApprove},
			"re-evaluation/1":    {by: "sam", action: ActionApprove, note: "renew: appliance swap slipped"},
			"security_officer/2": {by: "sam", action: ActionApprove},
			"coo/2":              {by: "coby", action: ActionApprove},
			"re-evaluation/2":    {by: "sam", action: ActionReject, note: "appliance replaced"},
		}, ""},
		// The second approval comes at least a second after the expiry asked for.
		{"policy_exception_approved_after_expiry.json", "eve", 2 * time.Second, map[string]answer{
			"security_officer/1": {by: "sam", action: ActionApprove},
			"coo/1":              {after: 3 * time.Second, by: "coby", action: ActionApprove},
		}, ""},
		// The Security Officer sam asks; pat, the other officer, leaves the
		// role as they answer the re-evaluation, so before the renewal run asks
		// who may approve, and only sam could. The renewal comes inside the
		// term, which then runs out.
		{"policy_exception_renewal_refused.json", "sam", 10 * time.Second, map[string]answer{
			"security_officer/1": {by: "pat", action: ActionApprove},
			"coo/1":              {by: "coby", action: ActionApprove},
			"re-evaluation/1": {by: "pat", action: ActionApprove, note: "renew", also: func() {
				db.Owner.MustExec(`DELETE FROM roles WHERE role = 'security_officer' AND person_id = 'pat'`)
			}},
		}, `INSERT INTO roles (role, person_id) VALUES ('security_officer', 'pat')`},
	}
	script := map[string]map[string]answer{} // by exception ID
	for _, sc := range scenarios {
		script[ids[sc.file]] = sc.answers
	}
	queue := startRecordingWorker(t, c, db, func(in HumanTaskInput, purpose string) (answer, bool) {
		a, ok := script[in.ParentRef][purpose]
		return a, ok
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, sc := range scenarios {
		if sc.before != "" {
			db.Owner.MustExec(sc.before)
		}
		id := ids[sc.file]
		in := PolicyExceptionInput{PolicyID: "access", RequesterID: sc.requester,
			Purpose: "legacy VPN appliance", Reason: "it cannot do MFA", Expires: time.Now().Add(sc.term)}
		wf, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, PolicyExceptionWorkflow, in)
		if err != nil {
			t.Fatal(err)
		}
		// Get follows a renewal's continue-as-new to the last run.
		if err := wf.Get(ctx, nil); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		// The renewal branches are taken in the renewal's own run, the last
		// one; the first run's ID (wf.GetRunID) would record round 1 instead.
		last, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		writeHistory(ctx, t, c, id, last.WorkflowExecutionInfo.Execution.RunId, sc.file)
	}
}

// startRecordingWorker starts a worker on a queue of its own for the policy
// workflows and their activities, with a real SMTP sink, and HumanTask
// replaced by a script: answerFor gives a task's answer by its purpose (the
// task ID after its parent's ID).
func startRecordingWorker(t *testing.T, c client.Client, db *testenv.DB, answerFor func(in HumanTaskInput, purpose string) (answer, bool)) string {
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	suffix := make([]byte, 4)
	rand.Read(suffix)
	queue := "policy-replay-" + hex.EncodeToString(suffix)

	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in HumanTaskInput) (TaskOutcome, error) {
		a, ok := answerFor(in, strings.TrimPrefix(in.TaskID, HumanTaskID(in.ParentRef, "")))
		if !ok {
			return TaskOutcome{}, temporal.NewNonRetryableApplicationError("no scripted answer for "+in.TaskID, "Unscripted", nil)
		}
		if err := workflow.Sleep(ctx, a.after); err != nil {
			return TaskOutcome{}, err
		}
		if a.also != nil {
			a.also()
		}
		return TaskOutcome{TaskID: in.TaskID, Action: a.action, By: a.by, Note: a.note, At: workflow.Now(ctx)}, nil
	}, workflow.RegisterOptions{Name: HumanTaskWorkflow})
	for _, h := range policyHistories[:3] {
		w.RegisterWorkflowWithOptions(h.fn, workflow.RegisterOptions{Name: h.workflow})
	}
	w.RegisterActivity(&activities.Policies{DB: db.App})
	w.RegisterActivity(&activities.Announcer{DB: db.App, Mailer: &activities.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return queue
}

// writeHistory writes the history of one run to testdata/.
func writeHistory(ctx context.Context, t *testing.T, c client.Client, id, runID, file string) {
	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, e)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", file), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s (run %s): %d events", file, runID, len(hist.Events))
}
