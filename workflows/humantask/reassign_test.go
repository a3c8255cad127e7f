package humantask

import (
	"strings"
	"testing"
	"time"
)

// SignalReassign: the leaver's open task is handed to their manager, who
// may complete it from then on; the reassignment is recorded and the new
// holder told why; a repeated signal changes nothing.
func TestReassignedTaskCanBeCompletedByTheNewHolder(t *testing.T) {
	h := newTaskHarness(t)
	in := htInput()
	in.Actions = []Action{ActionDone}
	var answers []string
	h.completeAt(2*time.Hour, CompleteRequest{Action: ActionDone, PersonID: "mo"}, &answers)
	for _, at := range []time.Duration{3 * time.Hour, 4 * time.Hour} {
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(SignalReassign, ReassignRequest{To: "mo", Reason: "ann has left (last day 2026-03-02)", By: "offboarding/ann"})
		}, at)
	}
	h.completeAt(5*time.Hour, CompleteRequest{Action: ActionDone, PersonID: "mo", Note: "took it over"}, &answers)
	h.env.ExecuteWorkflow(Workflow, in)

	out := h.outcome(t)
	if out.By != "mo" || out.Note != "took it over" {
		t.Errorf("outcome %+v", out)
	}
	if len(answers) != 2 || !strings.Contains(answers[0], `"mo" may not act`) || answers[1] != "mo completed" {
		t.Errorf("answers %v: mo may act only once the task was reassigned", answers)
	}
	htEqual(t, "reassigned", htAt(h.events, "reassigned"), []string{"reassigned/mo@3h0m0s"})
	htEqual(t, "told", htAt(h.notices, "reassigned"), []string{"reassigned/mo/email/mo@3h0m0s", "reassigned/mo/slack/mo@3h0m0s"})
	if ev := h.events[len(h.events)-1]; ev.key != "reassigned/mo" || ev.detail["reason"] != "ann has left (last day 2026-03-02)" {
		t.Errorf("last event %+v", ev)
	}
}
