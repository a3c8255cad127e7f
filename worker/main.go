// Command worker runs complyflow's Temporal worker: every workflow and activity
// on the one task queue.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/worker"

	"github.com/complyflow/complyflow/internal/platform"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := platform.StartProcess(ctx, true)
	if err != nil {
		return err
	}
	defer p.Close()

	w := worker.New(p.Temporal, p.Config.TaskQueue, worker.Options{})
	if err := Register(w, p.Config, p.DB); err != nil {
		return err
	}
	if key, err := p.Config.AuditKey(); err != nil {
		p.Logger.Error("daily audit checkpoints are off", "err", err)
	} else {
		go signCheckpoints(ctx, p.DB, key, p.Config.AuditCheckpointFile, checkpointEvery, p.Logger)
	}
	p.Logger.Info("worker started", "task_queue", p.Config.TaskQueue, "namespace", p.Config.TemporalNamespace)
	return w.Run(interruptOn(ctx))
}

// interruptOn adapts a context to the channel worker.Run stops on.
func interruptOn(ctx context.Context) <-chan interface{} {
	ch := make(chan interface{})
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}
