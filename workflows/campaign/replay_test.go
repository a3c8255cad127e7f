package campaign

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/internal/history"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const replayID = "campaign/acknowledgement/replay"

// TestCampaignReplay replays a campaign recorded from a real run on the
// dev server (assigned, reminded, escalated to managers, a leaver closed,
// everyone else done). UPDATE_HISTORIES=1 records it again, in about ten
// seconds of real time.
func TestCampaignReplay(t *testing.T) {
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		recordCampaign(t)
	}
	history.Replay(t, "campaign.json", WorkflowName, Workflow, replayID)
}

func recordCampaign(t *testing.T) {
	w := newWorld(t, time.Now().UTC())
	c := testenv.Temporal(t)
	queue := testenv.TaskQueue(t)
	wk := worker.New(c, queue, worker.Options{})
	wk.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	wk.RegisterActivity(w.acts)
	if err := wk.Start(); err != nil {
		t.Fatal(err)
	}
	defer wk.Stop()
	in := acknowledgement(3*time.Second, 2*time.Second, workflows.EscalationStep{After: time.Second, To: workflows.EscalateToManager})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: replayID, TaskQueue: queue}, WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // reminded once, escalated once
	for _, p := range []string{"sam", "mia", "ann", "bob", "sal", "cat"} {
		w.complete(replayID, p)
	}
	w.db.Owner.MustExec(`UPDATE people SET end_date = current_date WHERE id = 'lee'`) // she leaves today
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	history.Write(ctx, t, c, replayID, run.GetRunID(), "campaign.json")
}
