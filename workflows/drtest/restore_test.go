package drtest

import (
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

func restored() humantask.Values {
	return humantask.Values{Fields: map[string]string{"restored_what": "nightly snapshot 2026-03-31", "restored_where": "staging",
		"minutes": "42", "integrity_checked": "yes", "outcome": "pass"}}
}

// The test picks one of the systems with a recovery target (never the CRM,
// which has none), asks that system's owner to restore it, and records what
// was restored, where, how long it took and the integrity check, audited
// under the backups control.
func TestBackupRestorePicksATargetedSystemAndRecordsTheRestore(t *testing.T) {
	h := newHarness(t)
	id := "backup-restore-test/1"
	h.On(humantask.ID(id, "restore"), policytest.Answer{After: 2 * day, By: "dan", Action: humantask.ActionDone, Values: restored()})
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(BackupRestoreWorkflowName, workflows.ScheduledRun{DR: &drPlan, DuePeriod: 7 * day})
	var st RestoreStatus
	if err := h.Env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := h.Env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.Candidates, []string{"sys-db", "sys-wiki"}) || !slices.Contains(st.Candidates, st.SystemID) || !st.Recorded || !st.Passed {
		t.Fatalf("status %+v: want a pick among sys-db and sys-wiki, recorded, passed", st)
	}
	owner := map[string]string{"sys-db": "dan", "sys-wiki": "eve"}[st.SystemID]
	if got := h.Task(humantask.ID(id, "restore")).AssigneeID; got != owner {
		t.Errorf("restore task to %s, want %s, the owner of %s", got, owner, st.SystemID)
	}
	if n := h.Count(`SELECT count(*) FROM backup_restore_tests WHERE id = $1 AND system_id = $2 AND assignee_id = $3
		AND restored_what = 'nightly snapshot 2026-03-31' AND restored_where = 'staging' AND duration = interval '42 minutes'
		AND integrity_checked AND passed AND recorded_at IS NOT NULL`, id, st.SystemID, owner); n != 1 {
		t.Errorf("the restore's record does not hold what was restored")
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND control_id = 'backups'
		AND action IN ('backup-restore-test.picked', 'backup-restore-test.recorded')`, id); n != 2 {
		t.Errorf("audited %d steps under backups, want 2", n)
	}
}

// A failed restore is a finding: the system's owner gets a task to fix the
// backup, and the test closes only when it is done.
func TestBackupRestoreFailedOpensFollowUp(t *testing.T) {
	h := newHarness(t)
	id := "backup-restore-test/failed"
	failed := restored()
	failed.Fields["outcome"], failed.Fields["notes"] = "fail", "the snapshot was empty"
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.On(humantask.ID(id, "restore"), policytest.Answer{After: day, By: "dan", Action: humantask.ActionDone, Values: failed})
	h.On(humantask.ID(id, "follow-up"), policytest.Answer{After: 5 * day, By: "dan", Action: humantask.ActionDone})
	h.Env.ExecuteWorkflow(BackupRestoreWorkflowName, workflows.ScheduledRun{DR: &drPlan})
	var st RestoreStatus
	if err := h.Env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := h.Env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{"sys-db": "dan", "sys-wiki": "eve"}[st.SystemID]
	fu := h.Task(humantask.ID(id, "follow-up"))
	if st.Passed || st.FollowUp != fu.TaskID || fu.AssigneeID != owner || !strings.Contains(fu.Body, "the snapshot was empty") {
		t.Errorf("status %+v, follow-up %+v: want a failed test with its owner's follow-up", st, fu)
	}
	if n := h.Count(`SELECT count(*) FROM backup_restore_tests WHERE id = $1 AND NOT passed AND follow_up_task = $2
		AND follow_up_closed_by = 'dan' AND closed_at > recorded_at`, id, fu.TaskID); n != 1 {
		t.Errorf("the failed restore's record does not show its follow-up closed after it")
	}
}
