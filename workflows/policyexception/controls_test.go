package policyexception

import (
	"testing"
	"time"

	act "github.com/complyflow/complyflow/activities/policyexception"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// The program file maps the process to two controls: its task is recorded
// under both, so it is found under each, and each of its steps is audited
// under both.
func TestPolicyExceptionTaskEvidencesEveryControl(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	h.DB.Owner.MustExec(`INSERT INTO controls (id, title, processes) VALUES ('exception-oversight', 'Exception Oversight', '{policy-exception}')`)
	policytest.LiveTasks(h, start)
	id := ID("access", "two-controls")
	task := humantask.ID(id, "security_officer/1")
	var got []string
	policytest.ActAt(h, policytest.Day, task, "sam", humantask.ActionReject, &got)
	st, err := runException(h, id, exceptionInput(start.AddDate(0, 6, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != act.StatusRejected || len(got) != 1 || got[0] != "sam completed" {
		t.Fatalf("result %+v, answers %v: want rejected by sam", st, got)
	}
	for _, control := range []string{"exception-oversight", "personnel-accountability"} {
		if n := h.Count(`SELECT count(*) FROM tasks WHERE id = $1 AND $2 = ANY(control_ids)`, task, control); n != 1 {
			t.Errorf("task %s not found under %s", task, control)
		}
		for _, action := range []string{"task.created", "task.completed"} {
			if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = $2 AND control_id = $3`, task, action, control); n != 1 {
				t.Errorf("%d %s audit entries under %s, want 1", n, action, control)
			}
		}
	}
}
