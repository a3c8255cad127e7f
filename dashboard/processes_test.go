package dashboard

import (
	"testing"
	"time"

	"github.com/complyflow/complyflow/workflows/drtest"
	"github.com/complyflow/complyflow/workflows/offboarding"
	"github.com/complyflow/complyflow/workflows/policychange"
	"github.com/complyflow/complyflow/workflows/policyexception"
	"github.com/complyflow/complyflow/workflows/policyreview"
	"github.com/complyflow/complyflow/workflows/riskassessment"
	"github.com/complyflow/complyflow/workflows/vendorreview"
)

// The names here are the processes' own, and a task is placed by the ID
// its parent workflow really has.
func TestProcessOfTaskMatchesTheWorkflowIDs(t *testing.T) {
	for parent, want := range map[string]string{
		offboarding.ID("dan"):                                           offboarding.Process,
		vendorreview.ID("acme", "2026"):                                 vendorreview.Process,
		policychange.ID("access", "abc"):                                policychange.Process,
		policyexception.ID("access", "abc"):                             policyexception.Process,
		policyreview.Process + "/annual-2026-01-01":                     policyreview.Process, // a schedule's: process/obligation
		drtest.ID(time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)):         drtest.Process,
		drtest.ProcessBackupRestore + "/backup-restore-test-2026-12-01": drtest.ProcessBackupRestore, // a schedule's
		riskassessment.ID("2026"):                                       riskassessment.Process,
		"manual-task-without-process":                                   "manual-task-without-process", // no known prefix: its own
	} {
		if got := processOfTask(parent); got != want {
			t.Errorf("processOfTask(%q) = %q, want %q", parent, got, want)
		}
		if _, known := LookupProcess(want); !known && want != "manual-task-without-process" {
			t.Errorf("process %q is not in Processes", want)
		}
	}
}

// A task no process started is listed under a name, not a blank.
func TestProcessTitleOfATaskWithoutProcess(t *testing.T) {
	if got := ProcessTitle(processOfTask("")); got != "Other tasks" {
		t.Errorf("ProcessTitle of a task without parent = %q, want Other tasks", got)
	}
	if got := ProcessTitle("dr-test"); got != "DR/BCP test" {
		t.Errorf("ProcessTitle(dr-test) = %q", got)
	}
}
