package humantask

import (
	"log/slog"
	"os"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestHumanTaskReplay replays a real run (recorded by the portal package's
// TestTaskByEmailLink with UPDATE_HISTORIES=1: assignment, reminders, an
// escalation to the manager, completion through the portal) so a change to
// Workflow that breaks running workflows fails here.
func TestHumanTaskReplay(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := r.ReplayWorkflowHistoryFromJSONFile(logger, "testdata/humantask.json"); err != nil {
		t.Fatal(err)
	}
}
