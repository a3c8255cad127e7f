package main_test

import (
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
)

// TestMain stops the Temporal dev server the package's integration tests share.
func TestMain(m *testing.M) { testenv.Main(m) }
