package platform

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	"github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Metrics serves the Temporal SDK's worker and client metrics for Prometheus
// at http://ADDR/metrics.
type Metrics struct {
	Handler client.MetricsHandler
	// Addr is where the endpoint listens.
	Addr   string
	server *http.Server
	closer interface{ Close() error }
}

// ServeMetrics starts the /metrics endpoint on addr.
func ServeMetrics(addr string) (*Metrics, error) {
	registry := prom.NewRegistry()
	reporter, err := prometheus.Configuration{TimerType: "histogram"}.NewReporter(
		prometheus.ConfigurationOptions{Registry: registry, OnError: func(error) {}})
	if err != nil {
		return nil, fmt.Errorf("metrics reporter: %w", err)
	}
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       prometheus.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		closer.Close()
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reporter.HTTPHandler())
	m := &Metrics{
		Handler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
		server:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		closer:  closer,
		Addr:    l.Addr().String(),
	}
	go m.server.Serve(l)
	return m, nil
}

// Close stops the endpoint.
func (m *Metrics) Close() {
	m.server.Shutdown(context.Background())
	m.closer.Close()
}
