// Package drtest is the DR/BCP test and the random backup-restore test
// (controls lists A and B: "The Business Continuity and Disaster Recovery
// Plans are periodically tested. Management uses test results to evaluate
// and update the plans"; data-security policy: "All backups undergo random
// testing"). A DRTest plans the exercise with its coordinator, tells the
// participants, waits for the date, records the results against the
// recovery targets, and follows every finding (and, after a failure, the
// plan's update) to closure. A BackupRestoreTest picks a system at random
// and records its restore.
package drtest

import (
	"time"

	act "github.com/complyflow/complyflow/activities/drtest"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// The names the program file knows the processes by.
const (
	Process              = act.Process
	ProcessBackupRestore = act.ProcessBackupRestore
)

// Registered workflow names.
const (
	WorkflowName              = "DRTest"
	BackupRestoreWorkflowName = "BackupRestoreTest"
)

// Scenarios a DR test may exercise.
var Scenarios = []string{"region-loss", "database-restore", "provider-loss", "ransomware", "other"}

// ID names a DR test started on demand on a day, so a second start that
// day is refused.
func ID(day time.Time) string { return Process + "/" + day.UTC().Format(time.DateOnly) }

// Input starts a DRTest: the obligation's run (its DR plan, controls and
// due period) and the scenario proposed to the coordinator, who decides.
type Input struct {
	workflows.ScheduledRun
	Scenario string `json:",omitempty"`
}

// Status answers QueryStatus on a DRTest and is its result.
type Status struct {
	TestID    string
	Stage     string // act.Status*
	Scenario  string
	Date      time.Time
	Systems   []string
	Passed    bool
	Measured  []act.Measured
	FollowUps []string // follow-up task IDs
	Decisions []humantask.Decision
}

// RestoreStatus answers QueryStatus on a BackupRestoreTest and is its result.
type RestoreStatus struct {
	TestID     string
	Candidates []string
	SystemID   string // the system picked at random
	Recorded   bool
	Passed     bool
	FollowUp   string // a failed restore's follow-up task
	Decisions  []humantask.Decision
}
