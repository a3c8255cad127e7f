//go:build tools

// Package tools pins the Temporal CLI (dev server and web UI) in its own module
// so the server's dependencies stay out of complyflow's go.mod.
package tools

import _ "github.com/temporalio/cli/cmd/temporal"
