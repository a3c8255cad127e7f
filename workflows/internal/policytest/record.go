package policytest

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
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/complyflow/complyflow/activities/notify"
	changeact "github.com/complyflow/complyflow/activities/policychange"
	exceptionact "github.com/complyflow/complyflow/activities/policyexception"
	reviewact "github.com/complyflow/complyflow/activities/policyreview"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// StartRecordingWorker starts a worker on a queue of its own for the policy
// workflows and their activities, with a real SMTP sink, and HumanTask
// replaced by a script: answerFor gives a task's answer by its purpose (the
// task ID after its parent's ID).
func StartRecordingWorker(t *testing.T, c client.Client, db *testenv.DB, register func(w worker.Registry), answerFor func(in humantask.Input, purpose string) (Answer, bool)) string {
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	suffix := make([]byte, 4)
	rand.Read(suffix)
	queue := "policy-replay-" + hex.EncodeToString(suffix)

	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in humantask.Input) (humantask.Outcome, error) {
		a, ok := answerFor(in, strings.TrimPrefix(in.TaskID, humantask.ID(in.ParentRef, "")))
		if !ok {
			return humantask.Outcome{}, temporal.NewNonRetryableApplicationError("no scripted answer for "+in.TaskID, "Unscripted", nil)
		}
		if err := workflow.Sleep(ctx, a.After); err != nil {
			return humantask.Outcome{}, err
		}
		if a.Also != nil {
			a.Also()
		}
		return humantask.Outcome{TaskID: in.TaskID, Action: a.Action, By: a.By, Note: a.Note, Values: a.Values, At: workflow.Now(ctx)}, nil
	}, workflow.RegisterOptions{Name: humantask.WorkflowName})
	register(w)
	mailer := &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}
	w.RegisterActivity(&changeact.Activities{DB: db.App})
	w.RegisterActivity(&exceptionact.Activities{DB: db.App})
	w.RegisterActivity(&reviewact.Activities{DB: db.App})
	w.RegisterActivity(&notify.Messages{DB: db.App, Mailer: mailer})
	w.RegisterActivity(&changeact.Announcer{DB: db.App, Mailer: mailer})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return queue
}

// WriteHistory writes the history of one run to testdata/.
func WriteHistory(ctx context.Context, t *testing.T, c client.Client, id, runID, file string) {
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

// Replay replays testdata/file, a history of the workflow registered as name
// with ID id, against fn: a change that breaks determinism for runs in
// flight fails here.
func Replay(t *testing.T, file, name string, fn any, id string) {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ReplayWorkflowHistoryWithOptions(logger, hist, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: id},
	}); err != nil {
		t.Fatalf("replay %s: %v", file, err)
	}
}

// Record runs the workflow registered as name once on the dev server under
// id with input in, its human tasks answered by answerFor, and writes its
// history to testdata/file (the last run's, after any continue-as-new).
func Record(t *testing.T, file, name string, id string, in any, register func(w worker.Registry), answerFor func(in humantask.Input, purpose string) (Answer, bool)) {
	db := testenv.Postgres(t)
	SeedWorld(t, db)
	c := testenv.Temporal(t)
	queue := StartRecordingWorker(t, c, db, register, answerFor)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wf, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, name, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := wf.Get(ctx, nil); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	last, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	WriteHistory(ctx, t, c, id, last.WorkflowExecutionInfo.Execution.RunId, file)
}
