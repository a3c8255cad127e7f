package program

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/policyreview"
)

// valid is a small correct program; tests break one thing at a time.
const valid = `roles:
  security_officer: [p-so]
  coo: p-coo
policies:
  - id: infosec
    title: Information Security Policy
    owner: p-so
    file: policies/infosec.md
controls:
  - id: program-review
    title: Information Security Program Review
    policies: [infosec]
    processes: [annual-policy-review]
    frameworks:
      soc2: [CC1.4, CC5.3]
      hipaa: ["164.316(b)(2)(iii)"]
      gdpr: ["Art. 24(2)"]
obligations:
  - id: yearly-review
    process: annual-policy-review
    schedule: {month: march, day: 1, time: "09:30", time_zone: Europe/Berlin}
    due: 30d
    remind_every: 1w
    escalation:
      - {after: 2d, to: role:coo}
      - {after: 5d, to: p-ceo}
    controls: [program-review]
`

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func parse(t *testing.T, src string) (*Program, Errors) {
	t.Helper()
	return parseWith(t, src, Options{Now: now})
}

func parseWith(t *testing.T, src string, opts Options) (*Program, Errors) {
	t.Helper()
	p, err := Parse("program.yaml", []byte(src), opts)
	if err == nil {
		return p, nil
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse: %v is not Errors", err)
	}
	if p != nil {
		t.Fatalf("Parse returned a program along with errors")
	}
	return nil, errs
}

func TestParseValid(t *testing.T) {
	p, errs := parse(t, valid)
	if errs != nil {
		t.Fatalf("valid program rejected:\n%v", errs)
	}
	o := p.Obligations[0]
	if o.Workflow != policyreview.WorkflowName || o.Due != 30*24*time.Hour || o.RemindEvery != 7*24*time.Hour {
		t.Errorf("obligation = %+v", o)
	}
	if o.Schedule.Cron != "30 9 1 3 *" || o.Schedule.TimeZone != "Europe/Berlin" {
		t.Errorf("schedule = %q in %q", o.Schedule.Cron, o.Schedule.TimeZone)
	}
	want := []workflows.EscalationStep{{After: 48 * time.Hour, To: "role:coo"}, {After: 120 * time.Hour, To: "p-ceo"}}
	if !reflect.DeepEqual(o.Escalation, want) {
		t.Errorf("escalation = %+v", o.Escalation)
	}
	if o.Scope != nil {
		t.Errorf("scope = %v, want none: the review decides what it covers when it runs", o.Scope)
	}
	if got := p.Roles["coo"]; !reflect.DeepEqual(got, []string{"p-coo"}) {
		t.Errorf("roles[coo] = %v", got)
	}
	wantReq := []Requirement{{"soc2", "CC1.4"}, {"soc2", "CC5.3"}, {"hipaa", "164.316(b)(2)(iii)"}, {"gdpr", "Art. 24(2)"}}
	if !reflect.DeepEqual(sortedReqs(p.Controls[0].Requirements), sortedReqs(wantReq)) {
		t.Errorf("requirements = %v", p.Controls[0].Requirements)
	}
	runs := o.Schedule.Next(now, 3)
	if len(runs) != 3 || runs[0].Format(time.RFC3339) != "2027-03-01T09:30:00+01:00" || runs[2].Year() != 2029 {
		t.Errorf("next runs = %v", runs)
	}
}

func sortedReqs(rs []Requirement) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Framework+" "+r.Ref)
	}
	return strings.Join(sortedStrings(s), ",")
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestParseReportsEveryProblem is the acceptance case: a bad cron
// spec, an unknown person and a bad time zone give three located reasons.
func TestParseReportsEveryProblem(t *testing.T) {
	src := strings.Replace(valid, `schedule: {month: march, day: 1, time: "09:30", time_zone: Europe/Berlin}`,
		`schedule: {cron: "0 9 1 13 *", time_zone: Mars/Olympus}`, 1)
	people := map[string]bool{"p-so": true, "p-ceo": true}
	_, errs := parseWith(t, src, Options{Now: now, People: people})
	want := []string{
		`program.yaml:3: roles.coo: unknown person "p-coo"`,
		`program.yaml:21: obligations[yearly-review].schedule.time_zone: unknown time zone "Mars/Olympus" (use an IANA name such as Europe/Berlin or UTC)`,
		`program.yaml:21: obligations[yearly-review].schedule.cron: "0 9 1 13 *": end of range (13) above maximum (12): 13`,
	}
	if got := lines(errs); !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	people["p-coo"] = true
	if _, errs := parseWith(t, valid, Options{Now: now, People: people}); errs != nil {
		t.Fatalf("everyone known, yet:\n%v", errs)
	}
	if _, errs := parseWith(t, strings.Replace(valid, "to: p-ceo", "to: p-cfo", 1), Options{Now: now, People: people}); len(errs) != 1 ||
		errs[0].Error() != `program.yaml:26: obligations[yearly-review].escalation[1].to: unknown person "p-cfo"` {
		t.Fatalf("unknown escalation target: %v", errs)
	}
}

func lines(errs Errors) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           []string
	}{
		{"unknown key", "    due: 30d\n", "    due: 30d\n    deu: 31d\n",
			[]string{`program.yaml:23: obligations[yearly-review].deu: unknown key (expected one of: audience, controls, due, escalation, id, jitter, new_hire_within, process, remind_every, risk_tolerance, schedule, scope, title, training, vendors)`}},
		{"due longer than interval", `schedule: {month: march, day: 1, time: "09:30", time_zone: Europe/Berlin}`, `schedule: {cron: "0 9 * * 1"}`,
			[]string{`program.yaml:22: obligations[yearly-review].due: 30d is longer than the schedule's interval (7d): a run would start before the last one is due`}},
		{"unknown process", "process: annual-policy-review\n    schedule", "process: vendor-soc2\n    schedule",
			[]string{`program.yaml:20: obligations[yearly-review].process: unknown process "vendor-soc2" (registered: annual-policy-review, annual-risk-assessment, backup-restore-test, dr-test, policy-acknowledgement, security-training, vendor-review)`}},
		{"on-demand process scheduled", "process: annual-policy-review\n    schedule", "process: policy-exception\n    schedule",
			[]string{`program.yaml:20: obligations[yearly-review].process: process "policy-exception" is started by people, not by a schedule`}},
		{"unknown control process", "processes: [annual-policy-review]", "processes: [annual-policy-review, policy-exception, offboard]",
			[]string{`program.yaml:13: controls[program-review].processes[2]: unknown process "offboard"`}},
		{"unknown policy", "policies: [infosec]", "policies: [infosec, acceptable-use]",
			[]string{`program.yaml:12: controls[program-review].policies[1]: unknown policy "acceptable-use"`}},
		{"unknown control", "controls: [program-review]", "controls: [program-review, cc-9]",
			[]string{`program.yaml:27: obligations[yearly-review].controls[1]: unknown control "cc-9"`}},
		{"role without holders", "to: role:coo", "to: role:ceo",
			[]string{`program.yaml:25: obligations[yearly-review].escalation[0].to: role "ceo" has nobody in roles`}},
		{"unknown role", "  coo: p-coo\n", "  coo: p-coo\n  cfo: p-cfo\n",
			[]string{`program.yaml:4: roles.cfo: unknown key (expected one of: ceo, ceo_designee, coo, dr_team, head_of_engineering, privacy_officer, review_committee, security_officer)`}},
		{"bad framework reference", "soc2: [CC1.4, CC5.3]", "soc2: [CC1.4, CC 5.3]",
			[]string{`program.yaml:15: controls[program-review].frameworks.soc2[1]: "CC 5.3" is not a soc2 reference such as CC1.4`}},
		{"duplicate key", "day: 1,", "day: 29, month: 2,",
			[]string{`program.yaml:21: obligations[yearly-review].schedule.month: duplicate key`}},
		{"29 February", "month: march, day: 1,", "month: february, day: 29,",
			[]string{`program.yaml:21: obligations[yearly-review].schedule.day: February 29: no run in 2027: a schedule must run at least once every year`}},
		{"29 February by cron", `schedule: {month: march, day: 1, time: "09:30", time_zone: Europe/Berlin}`, `schedule: {cron: "0 9 29 2 *"}`,
			[]string{`program.yaml:21: obligations[yearly-review].schedule.cron: "0 9 29 2 *": no run in 2027: a schedule must run at least once every year`}},
		{"31 April", "month: march, day: 1,", "month: april, day: 31,",
			[]string{`program.yaml:21: obligations[yearly-review].schedule.day: April 31: no run in 2027: a schedule must run at least once every year`}},
		{"only run of a year in a daylight-saving gap", "day: 1, time: \"09:30\"", "day: 31, time: \"02:30\"",
			[]string{`program.yaml:21: obligations[yearly-review].schedule.day: March 31: no run in 2030, since that time does not exist in Europe/Berlin then (a daylight-saving change): a schedule must run at least once every year`}},
		{"cron that never runs", `schedule: {month: march, day: 1, time: "09:30", time_zone: Europe/Berlin}`, `schedule: {cron: "0 9 30 2 *"}`,
			[]string{`program.yaml:21: obligations[yearly-review].schedule.cron: "0 9 30 2 *": no run in 2027: a schedule must run at least once every year`}},
		{"cron and calendar", `time: "09:30",`, `time: "09:30", cron: "0 9 * * *",`,
			[]string{`program.yaml:21: obligations[yearly-review].schedule: give either cron or month/day/time, not both`}},
		{"cron that Temporal reads differently", `schedule: {month: march, day: 1, time: "09:30", time_zone: Europe/Berlin}`, `schedule: {cron: "0 9 1-7 * MON"}`,
			[]string{`program.yaml:21: obligations[yearly-review].schedule.cron: "0 9 1-7 * MON": restrict day of month or day of week, not both (their meaning differs between cron and Temporal)`}},
		{"@every", `schedule: {month: march, day: 1, time: "09:30", time_zone: Europe/Berlin}`, `schedule: {cron: "@every 960h"}`,
			[]string{`program.yaml:21: obligations[yearly-review].schedule.cron: "@every 960h": use five fields or one of @yearly, @monthly, @weekly, @daily, @hourly`}},
		{"bad duration", "due: 30d", "due: a month",
			[]string{`program.yaml:22: obligations[yearly-review].due: "a month" is not a duration such as 30d, 2w or 36h`}},
		{"escalation out of order", "after: 5d", "after: 1d",
			[]string{`program.yaml:26: obligations[yearly-review].escalation[1].after: steps must be in order: 1d comes before the previous step's 2d`}},
		{"duplicate id", "controls:\n", "  - {id: infosec, title: Copy, owner: p-so, url: https://example.com/p}\ncontrols:\n",
			[]string{`program.yaml:9: policies[infosec].id: duplicate id "infosec"`}},
		{"product_development not a boolean", "    file: policies/infosec.md\n", "    file: policies/infosec.md\n    product_development: sometimes\n",
			[]string{`program.yaml:9: policies[infosec].product_development: expected true or false, found "sometimes"`}},
		{"policy without text", "    file: policies/infosec.md\n", "",
			[]string{`program.yaml:5: policies[infosec]: give the policy text's location as exactly one of file or url`}},
		{"missing section", "obligations:", "obligation:",
			[]string{`program.yaml:1: obligations: required`, `program.yaml:18: obligation: unknown key (expected one of: controls, dr, obligations, offboarding, policies, roles, trainings)`}},
		{"syntax", "  coo: p-coo\n", "  coo: [p-coo\n",
			[]string{`program.yaml:2: (syntax): did not find expected ',' or ']'`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(valid, c.old) {
				t.Fatalf("test case does not apply: %q not in the valid program", c.old)
			}
			_, errs := parse(t, strings.Replace(valid, c.old, c.new, 1))
			if got := lines(errs); !reflect.DeepEqual(got, c.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// Whether a policy needs the Head of Engineering is said in the file, per
// policy; a policy without the key does not.
func TestParseProductDevelopment(t *testing.T) {
	p, errs := parse(t, strings.Replace(valid, "controls:\n", `  - {id: sdlc, title: Secure Development Policy, owner: p-coo, url: "https://example.com/sdlc", product_development: true}
controls:
`, 1))
	if errs != nil {
		t.Fatal(errs)
	}
	got := map[string]bool{}
	for _, pol := range p.Policies {
		got[pol.ID] = pol.ProductDevelopment
	}
	if want := map[string]bool{"infosec": false, "sdlc": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("product development = %v, want %v", got, want)
	}
}
