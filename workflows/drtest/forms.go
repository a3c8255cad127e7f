package drtest

import (
	"strconv"
	"strings"
	"time"

	act "github.com/complyflow/complyflow/activities/drtest"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// The forms' field names.
const (
	fieldDate      = "date"
	fieldScenario  = "scenario"
	fieldSystems   = "systems"
	fieldSystem    = "system"
	fieldRTO       = "rto_minutes"
	fieldRPO       = "rpo_minutes"
	fieldIntegrity = "integrity_checked"
	fieldOutcome   = "outcome"
	fieldNotes     = "notes"
	fieldFindings  = "findings"
	fieldTitle     = "title"
	fieldOwner     = "owner"
	fieldDue       = "due"
	fieldWhat      = "restored_what"
	fieldWhere     = "restored_where"
	fieldMinutes   = "minutes"

	outcomePass = "pass"
	outcomeFail = "fail"
)

var zero = 0.0

func systemChoices(systems []act.System) []humantask.Choice {
	cs := make([]humantask.Choice, len(systems))
	for i, s := range systems {
		cs[i] = humantask.Choice{Value: s.ID, Label: s.Name + " (" + s.Criticality + ")"}
	}
	return cs
}

func choices(values []string) []humantask.Choice {
	cs := make([]humantask.Choice, len(values))
	for i, v := range values {
		cs[i] = humantask.Choice{Value: v, Label: v}
	}
	return cs
}

var outcomes = []humantask.Choice{{Value: outcomePass, Label: "Pass"}, {Value: outcomeFail, Label: "Fail"}}

// planForm is the coordinator's planning form (issue item 2): the date,
// the scenario and the systems in scope.
func planForm(systems []act.System) *humantask.Form {
	return &humantask.Form{For: []humantask.Action{humantask.ActionDone}, Fields: []humantask.Field{
		{Name: fieldDate, Label: "Exercise date", Kind: humantask.FieldDate, Required: true},
		{Name: fieldScenario, Label: "Scenario", Kind: humantask.FieldChoice, Required: true, Choices: choices(Scenarios)},
		{Name: fieldSystems, Label: "Systems in scope", Kind: humantask.FieldList, Required: true, MaxItems: 50, Fields: []humantask.Field{
			{Name: fieldSystem, Label: "System", Kind: humantask.FieldChoice, Required: true, Choices: systemChoices(systems)},
		}},
	}}
}

// plan is a completed planning form, read.
type plan struct {
	date     time.Time
	scenario string
	systems  []string
}

func readPlan(v humantask.Values) plan {
	p := plan{scenario: v.Fields[fieldScenario]}
	p.date, _ = v.Date(fieldDate)
	for _, s := range v.Lists[fieldSystems] {
		p.systems = append(p.systems, s[fieldSystem])
	}
	return p
}

// resultsForm is the exercise's results form: per system the RTO and RPO
// achieved (measured against the plan's targets when recorded) and whether
// data integrity was checked, pass or fail, and the findings, each with an
// owner among the test's people and a due date.
func resultsForm(systems []act.System, people []string) *humantask.Form {
	return &humantask.Form{For: []humantask.Action{humantask.ActionDone}, Fields: []humantask.Field{
		{Name: fieldSystems, Label: "Systems recovered", Kind: humantask.FieldList, Required: true, MaxItems: 50, Fields: []humantask.Field{
			{Name: fieldSystem, Label: "System", Kind: humantask.FieldChoice, Required: true, Choices: systemChoices(systems)},
			{Name: fieldRTO, Label: "Recovery time achieved (minutes)", Kind: humantask.FieldNumber, Required: true, Min: &zero},
			{Name: fieldRPO, Label: "Data loss window achieved (minutes)", Kind: humantask.FieldNumber, Required: true, Min: &zero},
			{Name: fieldIntegrity, Label: "Data integrity checked", Kind: humantask.FieldYesNo, Required: true},
		}},
		{Name: fieldOutcome, Label: "Outcome", Kind: humantask.FieldChoice, Required: true, Choices: outcomes},
		{Name: fieldNotes, Label: "Notes", Kind: humantask.FieldText, MaxLen: 5000},
		{Name: fieldFindings, Label: "Findings", Kind: humantask.FieldList, MaxItems: 30,
			RequiredIf: &humantask.Condition{Field: fieldOutcome, Equals: outcomeFail}, Fields: []humantask.Field{
				{Name: fieldTitle, Label: "Finding", Kind: humantask.FieldText, Required: true, MaxLen: 1000},
				{Name: fieldOwner, Label: "Owner", Kind: humantask.FieldChoice, Required: true, Choices: choices(people)},
				{Name: fieldDue, Label: "Due", Kind: humantask.FieldDate, Required: true},
			}},
	}}
}

// results is a completed results form, read.
type results struct {
	systems  []act.SystemResult
	passed   bool
	notes    string
	findings []act.Finding
}

func minutes(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Minute))
}

func readResults(v humantask.Values) results {
	r := results{passed: v.Fields[fieldOutcome] == outcomePass, notes: strings.TrimSpace(v.Fields[fieldNotes])}
	for _, s := range v.Lists[fieldSystems] {
		r.systems = append(r.systems, act.SystemResult{SystemID: s[fieldSystem], RTOAchieved: minutes(s[fieldRTO]),
			RPOAchieved: minutes(s[fieldRPO]), Integrity: s[fieldIntegrity] == "yes"})
	}
	for i, f := range v.Lists[fieldFindings] {
		due, _ := time.Parse(time.DateOnly, f[fieldDue])
		r.findings = append(r.findings, act.Finding{N: i + 1, Kind: "finding", Title: f[fieldTitle], OwnerID: f[fieldOwner], Due: due})
	}
	return r
}

// restoreForm is the backup-restore task's form: what was restored, where,
// how long it took, and the integrity check.
func restoreForm() *humantask.Form {
	return &humantask.Form{For: []humantask.Action{humantask.ActionDone}, Fields: []humantask.Field{
		{Name: fieldWhat, Label: "Backup restored (name, snapshot or date)", Kind: humantask.FieldText, Required: true, MaxLen: 500},
		{Name: fieldWhere, Label: "Restored into (environment, host)", Kind: humantask.FieldText, Required: true, MaxLen: 500},
		{Name: fieldMinutes, Label: "Time the restore took (minutes)", Kind: humantask.FieldNumber, Required: true, Min: &zero},
		{Name: fieldIntegrity, Label: "Data integrity checked", Kind: humantask.FieldYesNo, Required: true},
		{Name: fieldOutcome, Label: "Outcome", Kind: humantask.FieldChoice, Required: true, Choices: outcomes},
		{Name: fieldNotes, Label: "Notes", Kind: humantask.FieldText, MaxLen: 5000,
			RequiredIf: &humantask.Condition{Field: fieldOutcome, Equals: outcomeFail}, Help: "A failed restore says what went wrong."},
	}}
}
