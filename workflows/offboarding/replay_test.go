package offboarding

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/history"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestOffboardingReplay replays an offboarding recorded from a real run on
// the dev server: a last day already past, one system removed by its
// owner's task, one by a webhook, one by SCIM. UPDATE_HISTORIES=1 records
// it again.
func TestOffboardingReplay(t *testing.T) {
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		recordReplay(t)
	}
	history.Replay(t, "offboarding.json", WorkflowName, Workflow, ID("lee"))
}

func recordReplay(t *testing.T) {
	h := newHarness(t) // the database, seeded, and the activities
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"removed"}`)
	}))
	defer hook.Close()
	scim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"totalResults":0,"Resources":[]}`)
	}))
	defer scim.Close()
	h.system("sys-git", "manual", "high", "")
	h.system("sys-hook", "webhook", "critical", hook.URL)
	h.system("sys-idp", "scim", "critical", scim.URL)

	c := testenv.Temporal(t)
	queue := testenv.TaskQueue(t)
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in humantask.Input) (humantask.Outcome, error) {
		return humantask.Outcome{TaskID: in.TaskID, Action: humantask.ActionRemoved, By: in.AssigneeID, Note: "removed", At: workflow.Now(ctx)}, nil
	}, workflow.RegisterOptions{Name: humantask.WorkflowName})
	w.RegisterActivity(h.acts)
	w.RegisterActivity(&campaignact.Activities{DB: h.db.App})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ID("lee"), TaskQueue: queue}, WorkflowName,
		Input{PersonID: "lee", LastDay: "2026-01-09", StartedBy: "mo", Reason: "resigned"})
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := run.Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if len(h.removals()) != 3 {
		t.Fatalf("recorded run removed %v", h.removals())
	}
	history.Write(ctx, t, c, ID("lee"), run.GetRunID(), "offboarding.json")
}
