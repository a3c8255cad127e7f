package main

import (
	"fmt"
	"os"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/registry"
)

// TestMain runs the tests, or, in a process a test started as the worker
// (campaign_crash_test.go), the worker itself.
func TestMain(m *testing.M) {
	if os.Getenv(workerProcess) == "1" {
		if err := run(); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	testenv.Main(m)
}

// namingRegistry registers on a real worker, which panics on a duplicate
// activity or workflow name, and remembers the workflow names.
type namingRegistry struct {
	worker.Worker
	workflows map[string]bool
}

func (r *namingRegistry) RegisterWorkflowWithOptions(w interface{}, opts workflow.RegisterOptions) {
	r.workflows[opts.Name] = true
	r.Worker.RegisterWorkflowWithOptions(w, opts)
}

func TestRegisterPutsEveryProcessOnTheWorker(t *testing.T) {
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.SlackBotToken = "xoxb-test" // register the Slack-enabled path too
	reg := &namingRegistry{
		Worker:    worker.New(testenv.Temporal(t), testenv.TaskQueue(t), worker.Options{}),
		workflows: map[string]bool{},
	}
	if err := Register(reg, cfg, testenv.Postgres(t).App); err != nil {
		t.Fatal(err)
	}
	if len(registry.Processes) < 4 {
		t.Fatalf("the registry lists %d processes; want at least the human task and the three policy processes", len(registry.Processes))
	}
	for _, p := range registry.Processes {
		if name := p.Workflow; !reg.workflows[name] {
			t.Errorf("workflow %q is not registered: a schedule or a starter command would start it in vain", name)
		}
	}
}
