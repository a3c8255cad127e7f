package program

import (
	"strings"
	"testing"
)

const riskObligation = `  - id: risks
    process: annual-risk-assessment
    schedule: {month: march, day: 1, time: "09:00"}
    due: 3w
    controls: [program-review]
    risk_tolerance: 9
`

// The annual risk assessment's tolerance is read from the program file and
// handed to its schedule's runs.
func TestParseRiskTolerance(t *testing.T) {
	p, errs := parse(t, valid+riskObligation)
	if errs != nil {
		t.Fatal(errs)
	}
	if got := p.Obligations[1].Run().RiskTolerance; got != 9 {
		t.Errorf("risk tolerance = %d, want 9", got)
	}
}

func TestParseRejectsRiskTolerance(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"missing", "    risk_tolerance: 9\n", "", `program.yaml:28: obligations[risks].risk_tolerance: required for process annual-risk-assessment`},
		{"out of range", "risk_tolerance: 9", "risk_tolerance: 26", `program.yaml:33: obligations[risks].risk_tolerance: "26" is not a score from 1 to 25`},
		{"not a number", "risk_tolerance: 9", "risk_tolerance: high", `program.yaml:33: obligations[risks].risk_tolerance: "high" is not a score from 1 to 25`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := parse(t, valid+strings.Replace(riskObligation, c.old, c.new, 1))
			if got := lines(errs); len(got) != 1 || !strings.HasPrefix(got[0], c.want) {
				t.Errorf("errors %v, want one starting %q", got, c.want)
			}
		})
	}
	src := strings.Replace(valid, "    controls: [program-review]\n", "    controls: [program-review]\n    risk_tolerance: 9\n", 1)
	_, errs := parse(t, src)
	if got := lines(errs); len(got) != 1 || !strings.Contains(got[0], "only process annual-risk-assessment has a risk tolerance") {
		t.Errorf("a risk tolerance on another process: errors %v", got)
	}
}
