package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Every command answers -h with its usage and flags and exit status 0, with
// no database or Temporal needed.
func TestEveryCommandPrintsItsUsage(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runMain(context.Background(), []string{name, "-h"}, &out, &errOut)
			if code != 0 || !strings.Contains(errOut.String()+out.String(), "usage: starter "+name) {
				t.Fatalf("starter %s -h: exit %d\n%s%s", name, code, out.String(), errOut.String())
			}
		})
	}
}
