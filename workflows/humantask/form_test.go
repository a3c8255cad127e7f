package humantask

import (
	"strings"
	"testing"
	"time"
)

func ptr(f float64) *float64 { return &f }

// testForm has one field of every kind.
var testForm = &Form{Fields: []Field{
	{Name: "summary", Label: "Summary", Kind: FieldText, Required: true, MaxLen: 10},
	{Name: "rto", Label: "RTO (hours)", Kind: FieldNumber, Min: ptr(0), Max: ptr(72)},
	{Name: "result", Label: "Result", Kind: FieldChoice, Required: true, Choices: []Choice{{Value: "pass"}, {Value: "fail"}}},
	{Name: "held", Label: "Held on", Kind: FieldDate},
	{Name: "restored", Label: "Restored", Kind: FieldYesNo},
	{Name: "report", Label: "Report", Kind: FieldFile},
	{Name: "why", Label: "Why it failed", Kind: FieldText, RequiredIf: &Condition{Field: "result", Equals: "fail"}},
	{Name: "findings", Label: "Findings", Kind: FieldList, MaxItems: 2,
		RequiredIf: &Condition{Field: "result", Equals: "fail"}, Fields: []Field{
			{Name: "what", Label: "What", Kind: FieldText, Required: true},
			{Name: "due", Label: "Due", Kind: FieldDate, Required: true},
		}},
}}

// Every kind of field is checked as the form says, each problem named by its
// label, all at once.
func TestFormValidate(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	ok := Values{Fields: map[string]string{"summary": "fine", "rto": "4.5", "result": "pass", "held": "2026-04-15", "restored": "yes", "report": sha}}
	if err := testForm.Validate(ok); err != nil {
		t.Errorf("valid values refused: %v", err)
	}
	cases := []struct {
		name   string
		values Values
		want   []string
	}{
		{"empty", Values{}, []string{"Result is required", "Summary is required"}},
		{"each kind wrong", Values{Fields: map[string]string{"summary": "far too long here", "rto": "73", "result": "maybe",
			"held": "15/04/2026", "restored": "y", "report": "report.pdf"}}, []string{
			`Held on: "15/04/2026" is not a date (YYYY-MM-DD)`, `RTO (hours) is 73: it must be at most 72`,
			`Report: "report.pdf" is not the SHA-256 of a stored file`, `Restored: "y" is not yes or no`,
			`Result: "maybe" is not one of pass, fail`, `Summary is 17 characters long: at most 10 are accepted`}},
		{"below the minimum", Values{Fields: map[string]string{"summary": "x", "result": "pass", "rto": "-1"}},
			[]string{`RTO (hours) is -1: it must be at least 0`}},
		{"not a number", Values{Fields: map[string]string{"summary": "x", "result": "pass", "rto": "four"}},
			[]string{`RTO (hours): "four" is not a number`}},
		{"required if", Values{Fields: map[string]string{"summary": "x", "result": "fail"}},
			[]string{"Findings needs at least one entry", "Why it failed is required"}},
		{"list entries", Values{Fields: map[string]string{"summary": "x", "result": "fail", "why": "disk"},
			Lists: map[string][]map[string]string{"findings": {{"what": "restore slow"}, {"what": "a", "due": "2026-05-01", "who": "ann"}, {"what": "b", "due": "2026-05-02"}}}},
			[]string{`Findings 1: Due is required`, `Findings 2: "who" is not one of its fields`, `Findings has 3 entries: at most 2 are accepted`}},
		{"unknown fields", Values{Fields: map[string]string{"summary": "x", "result": "pass", "extra": "1"},
			Lists: map[string][]map[string]string{"summary": {{"a": "b"}}}},
			[]string{`"extra" is not a field of this form`, `"summary" is not a list of this form`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := testForm.Validate(c.values)
			if err == nil {
				t.Fatalf("accepted; want %q", c.want)
			}
			if got := strings.Split(err.Error(), "; "); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestFormCheck(t *testing.T) {
	for name, f := range map[string]*Form{
		"duplicate":    {Fields: []Field{{Name: "a", Kind: FieldText}, {Name: "a", Kind: FieldText}}},
		"no choices":   {Fields: []Field{{Name: "a", Kind: FieldChoice}}},
		"list in list": {Fields: []Field{{Name: "a", Kind: FieldList, Fields: []Field{{Name: "b", Kind: FieldList}}}}},
		"unknown kind": {Fields: []Field{{Name: "a", Kind: "colour"}}},
		"file in list": {Fields: []Field{{Name: "a", Kind: FieldList, Fields: []Field{{Name: "b", Kind: FieldFile}}}}},
		"dotted name":  {Fields: []Field{{Name: "a.b", Kind: FieldText}}},
	} {
		if err := f.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := testForm.Check(); err != nil {
		t.Errorf("a good form refused: %v", err)
	}
}

// A task with a form: the validator refuses a completion whose values do
// not fill it, and values on an action the form is not for (reject needs
// only its note); the outcome carries the values and the record keeps them.
func TestHumanTaskFormValidatedAndKept(t *testing.T) {
	h := newTaskHarness(t)
	in := htInput()
	in.Actions = []Action{ActionDone, ActionReject}
	in.Form = testForm
	good := Values{Fields: map[string]string{"summary": "restored", "result": "pass", "rto": "3"}}
	var answers []string
	h.completeAt(time.Hour, CompleteRequest{Action: ActionDone, PersonID: "ann"}, &answers)
	h.completeAt(2*time.Hour, CompleteRequest{Action: ActionReject, PersonID: "ann", Note: "no", Values: good}, &answers)
	h.completeAt(3*time.Hour, CompleteRequest{Action: ActionDone, PersonID: "ann", Values: good}, &answers)
	h.env.ExecuteWorkflow(Workflow, in)

	out := h.outcome(t)
	if out.Action != ActionDone || out.Values.Fields["rto"] != "3" {
		t.Errorf("outcome %+v: want done with the form's values", out)
	}
	want := []string{"ann rejected: the form is not filled in as it must be: Result is required; Summary is required",
		"ann rejected: reject takes no form values", "ann completed"}
	if strings.Join(answers, "\n") != strings.Join(want, "\n") {
		t.Errorf("answers:\n%s\nwant:\n%s", strings.Join(answers, "\n"), strings.Join(want, "\n"))
	}
	if len(h.completed) != 1 || !strings.Contains(string(h.completed[0].Values), `"rto":"3"`) {
		t.Errorf("recorded completions %+v: want one with the values", h.completed)
	}
}
