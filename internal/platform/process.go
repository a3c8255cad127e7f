package platform

import (
	"context"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"

	"github.com/complyflow/complyflow/internal/config"
)

// Process is what a long-running complyflow command holds: its settings,
// logger, database and Temporal client, and optionally the metrics endpoint.
type Process struct {
	Config   config.Config
	Logger   *slog.Logger
	DB       *sqlx.DB
	Temporal client.Client
	metrics  *Metrics
}

// StartProcess reads the settings and opens the connections; with
// serveMetrics it also serves the Temporal SDK's metrics at METRICS_ADDR.
func StartProcess(ctx context.Context, serveMetrics bool) (*Process, error) {
	p := &Process{Logger: Logger()}
	var err error
	if p.Config, err = config.FromEnv(); err != nil {
		return nil, err
	}
	if p.DB, err = OpenDB(ctx, p.Config.DatabaseURL); err != nil {
		return nil, err
	}
	var handler client.MetricsHandler
	if serveMetrics && p.Config.MetricsAddr != "" {
		if p.metrics, err = ServeMetrics(p.Config.MetricsAddr); err != nil {
			p.Close()
			return nil, err
		}
		handler = p.metrics.Handler
		p.Logger.Info("metrics for Prometheus", "url", "http://"+p.metrics.Addr+"/metrics")
	}
	if p.Temporal, err = DialTemporal(p.Config.TemporalAddress, p.Config.TemporalNamespace, p.Logger, handler); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close releases whatever StartProcess opened.
func (p *Process) Close() {
	if p.Temporal != nil {
		p.Temporal.Close()
	}
	if p.metrics != nil {
		p.metrics.Close()
	}
	if p.DB != nil {
		p.DB.Close()
	}
}
