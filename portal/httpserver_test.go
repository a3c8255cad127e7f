package main_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	portal "github.com/complyflow/complyflow/portal"
)

// TestSlowClientIsCut: a client trickling its request body one byte a second
// holds its handler no longer than the server's ReadTimeout, and then its
// connection is closed.
func TestSlowClientIsCut(t *testing.T) {
	t.Parallel()
	released := make(chan time.Duration, 1)
	srv := portal.NewHTTPServer("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, err := io.ReadAll(r.Body)
		released <- time.Since(start)
		if err != nil {
			http.Error(w, "slow", http.StatusRequestTimeout)
		}
	}))
	if srv.ReadTimeout <= 0 || srv.ReadTimeout > 30*time.Second || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.ReadHeaderTimeout <= 0 {
		t.Fatalf("timeouts: read header %v, read %v, write %v, idle %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /x HTTP/1.1\r\nHost: portal\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
	limit := srv.ReadTimeout + 3*time.Second
	cut := make(chan struct{})
	go func() { // the server closing the connection ends this read
		io.Copy(io.Discard, conn)
		close(cut)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-cut:
			if d := time.Since(start); d > limit {
				t.Fatalf("connection cut after %v, want within %v", d, limit)
			}
			select {
			case held := <-released:
				if held > limit {
					t.Fatalf("handler held for %v", held)
				}
			case <-time.After(time.Second):
				t.Fatal("the connection was cut but the handler still waits for the body")
			}
			return
		case <-tick.C:
			if time.Since(start) > limit {
				t.Fatalf("a client sending one byte a second still connected after %v (ReadTimeout %v)", time.Since(start), srv.ReadTimeout)
			}
			conn.Write([]byte("a"))
		}
	}
}
