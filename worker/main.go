// Command worker runs complyflow's Temporal worker: every workflow and activity
// on the one task queue.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/platform"
	"github.com/complyflow/complyflow/workflows"
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
	logger := platform.Logger()
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	db, err := platform.OpenDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	var metrics client.MetricsHandler
	if cfg.MetricsAddr != "" {
		m, err := platform.ServeMetrics(cfg.MetricsAddr)
		if err != nil {
			return err
		}
		defer m.Close()
		metrics = m.Handler
		logger.Info("metrics for Prometheus", "url", "http://"+cfg.MetricsAddr+"/metrics")
	}
	c, err := platform.DialTemporal(cfg.TemporalAddress, cfg.TemporalNamespace, logger, metrics)
	if err != nil {
		return err
	}
	defer c.Close()

	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	if err := Register(w, Dependencies{Config: cfg, DB: db, Temporal: c, Logger: logger}); err != nil {
		return err
	}
	logger.Info("worker started", "task_queue", workflows.TaskQueue, "namespace", cfg.TemporalNamespace)
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
