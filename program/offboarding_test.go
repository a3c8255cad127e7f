package program

import (
	"strings"
	"testing"
	"time"
)

// The offboarding section gives every criticality its removal deadline,
// reminder cadence and officer escalation; the demo sets critical systems
// 4h after the end of the last day and the others 1d (issue 13 item 2).
func TestOffboardingSection(t *testing.T) {
	p, err := Load("../demo/program.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Offboarding["critical"]; got != (OffboardingRule{Deadline: 4 * time.Hour, RemindEvery: time.Hour, OfficerAfter: 2 * time.Hour}) {
		t.Errorf("critical = %+v", got)
	}
	for _, c := range []string{"high", "medium", "low"} {
		if p.Offboarding[c].Deadline != 24*time.Hour {
			t.Errorf("%s deadline = %v, want 1d", c, p.Offboarding[c].Deadline)
		}
	}

	_, errs := parse(t, valid+`offboarding:
  critical: {deadline: 4h, remind_every: 1h}
  high: {deadline: soon, remind_every: 4h, escalate_to_officer: 1d}
  medium: {deadline: 1d, remind_every: 8h, escalate_to_officer: 1d}
  urgent: {deadline: 1h}
`)
	got := errs.Error()
	for _, want := range []string{
		"program.yaml:36: offboarding.critical.escalate_to_officer: required",
		`program.yaml:37: offboarding.high.deadline: "soon" is not a duration`,
		"program.yaml:39: offboarding.urgent: unknown key",
		"offboarding.low: required",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}
