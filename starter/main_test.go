package main

import (
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
)

// TestMain stops the Temporal dev server the package's tests may start.
func TestMain(m *testing.M) { testenv.Main(m) }
