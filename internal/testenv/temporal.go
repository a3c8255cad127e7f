package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

var (
	devServerOnce sync.Once
	devServer     *testsuite.DevServer
	devServerErr  error
)

// Temporal returns a client of the test binary's dev server, starting it on
// first use from bin/temporal (built by `make tools`). TEMPORAL_TEST_ADDRESS
// points the tests at a server that is already running instead.
func Temporal(t testing.TB) client.Client {
	t.Helper()
	if addr := os.Getenv("TEMPORAL_TEST_ADDRESS"); addr != "" {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("testenv: dial Temporal at %s: %v", addr, err)
		}
		t.Cleanup(c.Close)
		return c
	}
	devServerOnce.Do(func() {
		var path string
		path, devServerErr = temporalBinary()
		if devServerErr != nil {
			return
		}
		devServer, devServerErr = testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
			ExistingPath:  path,
			LogLevel:      "error",
			ClientOptions: &client.Options{Logger: quietLogger()},
		})
	})
	if devServerErr != nil {
		t.Fatalf("testenv: start Temporal dev server: %v", devServerErr)
	}
	return devServer.Client()
}

// TemporalAddress is the host:port of the dev server Temporal(t) started.
func TemporalAddress(t testing.TB) string {
	Temporal(t)
	if addr := os.Getenv("TEMPORAL_TEST_ADDRESS"); addr != "" {
		return addr
	}
	return devServer.FrontendHostPort()
}

// StopTemporal stops the dev server, if one was started; call it from TestMain.
func StopTemporal() {
	if devServer != nil {
		devServer.Stop()
	}
}

// Main runs the package's tests and then stops the dev server.
func Main(m *testing.M) {
	code := m.Run()
	StopTemporal()
	os.Exit(code)
}

func temporalBinary() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "tools", "go.mod")); err == nil {
				p := filepath.Join(dir, "bin", "temporal")
				if _, err := os.Stat(p); err != nil {
					return "", fmt.Errorf("%s not found: run `make tools`", p)
				}
				return p, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("bin/temporal not found above the test's directory: run `make tools`")
		}
		dir = parent
	}
}

func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// TaskQueue is a task queue of the test's own, so no other test's worker on
// the same dev server picks up its workflows. It is also set as
// TEMPORAL_TASK_QUEUE for the test, for code under test that reads the
// environment (the starter).
func TaskQueue(t *testing.T) string {
	t.Helper()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	q := "test-" + hex.EncodeToString(suffix)
	t.Setenv("TEMPORAL_TASK_QUEUE", q)
	return q
}
