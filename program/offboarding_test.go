package program

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
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
		"program.yaml:29: offboarding.critical.escalate_to_officer: required",
		`program.yaml:30: offboarding.high.deadline: "soon" is not a duration`,
		"program.yaml:32: offboarding.urgent: unknown key",
		"offboarding.low: required",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}

// Applying the file stores its rules where an offboarding reads them; a
// file without the section leaves none.
func TestRecordOffboardingRules(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('p-so', 'Sam'), ('p-coo', 'David'), ('p-ceo', 'Maria')`)
	section := `offboarding:
  critical: {deadline: 4h, remind_every: 1h, escalate_to_officer: 2h}
  high: {deadline: 1d, remind_every: 4h, escalate_to_officer: 1d}
  medium: {deadline: 1d, remind_every: 8h, escalate_to_officer: 1d}
  low: {deadline: 2d, remind_every: 8h, escalate_to_officer: 2d}
`
	for _, tc := range []struct {
		src  string
		want string
	}{{valid + section, "critical 04:00:00 01:00:00 02:00:00,high 24:00:00 04:00:00 24:00:00,low 48:00:00 08:00:00 48:00:00,medium 24:00:00 08:00:00 24:00:00"}, {valid, ""}} {
		p, errs := parse(t, tc.src)
		if errs != nil {
			t.Fatal(errs)
		}
		if _, err := Record(context.Background(), db.App, p, "p-so", nil); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := db.App.Get(&got, `SELECT coalesce(string_agg(format('%s %s %s %s', criticality, deadline_after, remind_every, officer_after), ',' ORDER BY criticality), '')
			FROM offboarding_deadlines`); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("stored %q, want %q", got, tc.want)
		}
	}
}
