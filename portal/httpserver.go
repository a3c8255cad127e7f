package main

import (
	"net/http"
	"time"
)

// The HTTP server's timeouts. A request (headers and body) must arrive
// within ReadTimeout, so a client trickling bytes holds a handler no longer
// than that. WriteTimeout is longer than the slowest handler: a task page's
// POST waits up to 90 s for the workflow's update (completeTask).
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 100 * time.Second
	IdleTimeout       = 60 * time.Second
)

// NewHTTPServer is the portal's HTTP server on addr, with its timeouts.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout,
		MaxHeaderBytes: 64 << 10,
	}
}
