package policytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/activities/notify"
	changeact "github.com/complyflow/complyflow/activities/policychange"
	exceptionact "github.com/complyflow/complyflow/activities/policyexception"
	reviewact "github.com/complyflow/complyflow/activities/policyreview"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/campaign"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/history"
	"go.temporal.io/sdk/client"
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
	// A material change starts a campaign; its own tests run it.
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in campaign.Input) (campaign.Status, error) {
		return campaign.Status{}, nil
	}, workflow.RegisterOptions{Name: campaign.WorkflowName})
	w.RegisterActivity(&campaignact.Activities{DB: db.App})
	register(w)
	mailer := &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}
	w.RegisterActivity(&changeact.Activities{DB: db.App})
	w.RegisterActivity(&exceptionact.Activities{DB: db.App})
	w.RegisterActivity(&reviewact.Activities{DB: db.App})
	w.RegisterActivity(&notify.Messages{DB: db.App, Mailer: mailer})
	w.RegisterActivity(&changeact.Announcer{DB: db.App, Pool: notify.NewPool(mailer, 2)})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return queue
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
	history.Write(ctx, t, c, id, last.WorkflowExecutionInfo.Execution.RunId, file)
}
