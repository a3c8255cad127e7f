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
}

func TestPolicyWorkflowsReplay(t *testing.T) {
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		recordPolicyHistories(t)
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
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	c := testenv.Temporal(t)
	suffix := make([]byte, 4)
	rand.Read(suffix)
	queue := "policy-replay-" + hex.EncodeToString(suffix)

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
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in HumanTaskInput) (TaskOutcome, error) {
		purpose := strings.TrimPrefix(in.TaskID, HumanTaskID(in.ParentRef, ""))
		a, ok := script[purpose]
		if strings.HasPrefix(in.ParentRef, "change-request/privacy/") && purpose == "review/1" {
			a, ok = answer{by: "sam", action: ActionApprove}, true
		}
		if !ok {
			return TaskOutcome{}, temporal.NewNonRetryableApplicationError("no scripted answer for "+in.TaskID, "Unscripted", nil)
		}
		if err := workflow.Sleep(ctx, a.after); err != nil {
			return TaskOutcome{}, err
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
	defer w.Stop()

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
		hist := &historypb.History{}
		it := c.GetWorkflowHistory(ctx, h.id, wf.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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
		if err := os.WriteFile(filepath.Join("testdata", h.file), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s: %d events", h.file, len(hist.Events))
	}
}
