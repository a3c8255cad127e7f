package drtest

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/drtest"
	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/history"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// TestDRTestReplay replays a failed DR test recorded on the dev server:
// planned (for a date already past), results with a finding, the finding
// and the plan update done. UPDATE_HISTORIES=1 records it again.
func TestDRTestReplay(t *testing.T) {
	id := "dr-test/replay"
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		record(t, id, "dr_test.json", WorkflowName, Input{ScheduledRun: workflows.ScheduledRun{DR: &drPlan}, Scenario: "region-loss"},
			map[string]policytest.Answer{
				"plan":        {By: "cora", Action: humantask.ActionDone, Values: planned("2020-01-15")},
				"results":     {By: "cora", Action: humantask.ActionDone, Values: recovered("fail", map[string]string{"title": "Replicate snapshots", "owner": "eve", "due": "2020-02-01"})},
				"follow-up/1": {By: "eve", Action: humantask.ActionDone},
				"follow-up/2": {By: "coby", Action: humantask.ActionDone},
			})
	}
	history.Replay(t, "dr_test.json", WorkflowName, Workflow, id)
}

// TestBackupRestoreReplay replays a backup-restore test recorded on the dev
// server: the random pick is read back from the history's side effect, so
// the replay asks the same system's owner. UPDATE_HISTORIES=1 records it again.
func TestBackupRestoreReplay(t *testing.T) {
	id := "backup-restore-test/replay"
	if os.Getenv("UPDATE_HISTORIES") == "1" {
		record(t, id, "backup_restore_test.json", BackupRestoreWorkflowName, workflows.ScheduledRun{DR: &drPlan},
			map[string]policytest.Answer{"restore": {By: "dan", Action: humantask.ActionDone, Values: restored()}})
	}
	history.Replay(t, "backup_restore_test.json", BackupRestoreWorkflowName, BackupRestoreTest, id)
}

func record(t *testing.T, id, file, name string, in any, script map[string]policytest.Answer) {
	db := testenv.Postgres(t)
	policytest.SeedWorld(t, db)
	seedDR(t, db)
	c := testenv.Temporal(t)
	queue := policytest.StartRecordingWorker(t, c, db, func(w worker.Registry) {
		w.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
		w.RegisterWorkflowWithOptions(BackupRestoreTest, workflow.RegisterOptions{Name: BackupRestoreWorkflowName})
		w.RegisterActivity(&act.Activities{DB: db.App})
		w.RegisterActivity(&taskact.Tasks{DB: db.App})
	}, func(_ humantask.Input, purpose string) (policytest.Answer, bool) {
		a, ok := script[purpose]
		return a, ok
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wf, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, name, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := wf.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	history.Write(ctx, t, c, id, wf.GetRunID(), file)
}
