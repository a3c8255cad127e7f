package platform

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMetricsEndpointServesSDKMetrics(t *testing.T) {
	m, err := ServeMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Handler.Counter("complyflow_probe").Inc(3)
	// The scope reports every second.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + m.Addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "complyflow_probe_total 3") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks complyflow_probe_total 3:\n%s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
