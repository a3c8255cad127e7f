package riskassessment

import (
	"fmt"
	"strconv"
	"strings"

	act "github.com/complyflow/complyflow/activities/riskassessment"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// Field names of the owner's form: one group per listed risk, prefixed
// r1_, r2_, ... in the order the form lists them (the shared form has flat
// fields, so a group per risk is its fields named by position), and the
// list of proposed risks.
const (
	fieldLikelihood         = "likelihood"
	fieldImpact             = "impact"
	fieldResidualLikelihood = "residual_likelihood"
	fieldResidualImpact     = "residual_impact"
	fieldTreatment          = "treatment"
	fieldJustification      = "justification"
	fieldControls           = "controls"
	fieldNewRisks           = "new_risks"
	fieldTitle              = "title"
	fieldDescription        = "description"
	fieldCategory           = "category"
	fieldExpiresOn          = "expires_on"
)

func groupField(i int, name string) string { return fmt.Sprintf("r%d_%s", i+1, name) }

var ratingChoices = func() []humantask.Choice {
	c := make([]humantask.Choice, 5)
	for i := range c {
		c[i] = humantask.Choice{Value: strconv.Itoa(i + 1), Label: strconv.Itoa(i + 1)}
	}
	return c
}()

func treatmentChoices() []humantask.Choice {
	c := make([]humantask.Choice, len(act.Treatments))
	for i, t := range act.Treatments {
		c[i] = humantask.Choice{Value: t, Label: t}
	}
	return c
}

// scoreFields are the fields one risk is scored with; label prefixes each.
func scoreFields(name func(string) string, label string, r *act.Risk) []humantask.Field {
	now := func(v int) string {
		if r == nil {
			return ""
		}
		return fmt.Sprintf("Last: %d.", v)
	}
	var ctl, treat string
	if r != nil {
		ctl = "Linked now: " + strings.Join(r.Controls, ", ") + "."
		treat = "Now: " + r.Treatment + "."
	}
	rating := func(field, what string, last int) humantask.Field {
		return humantask.Field{Name: name(field), Label: label + what + " (1-5)", Kind: humantask.FieldChoice, Required: true,
			Choices: ratingChoices, Help: now(last)}
	}
	var l, i, rl, ri int
	if r != nil {
		l, i, rl, ri = r.Likelihood, r.Impact, r.ResidualLikelihood, r.ResidualImpact
	}
	return []humantask.Field{
		rating(fieldLikelihood, "likelihood", l),
		rating(fieldImpact, "impact", i),
		rating(fieldResidualLikelihood, "residual likelihood", rl),
		rating(fieldResidualImpact, "residual impact", ri),
		{Name: name(fieldTreatment), Label: label + "treatment", Kind: humantask.FieldChoice, Required: true, Choices: treatmentChoices(), Help: treat},
		{Name: name(fieldJustification), Label: label + "justification", Kind: humantask.FieldText, Required: true, MaxLen: 2000,
			Help: "Why the scores and the treatment are right (still valid because ...)."},
		{Name: name(fieldControls), Label: label + "controls", Kind: humantask.FieldText, MaxLen: 1000,
			Help: "Control IDs from the program file, separated by commas. " + ctl},
	}
}

// ownerForm is an owner's form of issue item 6: every risk of theirs to
// re-score, and new risks to propose.
func ownerForm(risks []act.Risk, propose bool) *humantask.Form {
	var fields []humantask.Field
	for i := range risks {
		r := &risks[i]
		fields = append(fields, scoreFields(func(f string) string { return groupField(i, f) }, r.ID+" "+r.Title+": ", r)...)
	}
	if propose {
		sub := []humantask.Field{
			{Name: fieldTitle, Label: "Title", Kind: humantask.FieldText, Required: true, MaxLen: 200},
			{Name: fieldDescription, Label: "Description", Kind: humantask.FieldText, MaxLen: 2000},
			{Name: fieldCategory, Label: "Category", Kind: humantask.FieldText, MaxLen: 100},
		}
		sub = append(sub, scoreFields(func(f string) string { return f }, "", nil)...)
		fields = append(fields, humantask.Field{Name: fieldNewRisks, Label: "New risks", Kind: humantask.FieldList, MaxItems: 10, Fields: sub,
			Help: "Risks the register lacks; each joins it, owned by you."})
	}
	return &humantask.Form{For: []humantask.Action{humantask.ActionDone}, Fields: fields}
}

// scored reads one risk's scores from a form's values (fields named by
// name); the validator has admitted them.
func scored(base act.Risk, get func(string) string) act.Assessed {
	rating := func(f string) int { n, _ := strconv.Atoi(get(f)); return n }
	base.Likelihood, base.Impact = rating(fieldLikelihood), rating(fieldImpact)
	base.ResidualLikelihood, base.ResidualImpact = rating(fieldResidualLikelihood), rating(fieldResidualImpact)
	base.Treatment = get(fieldTreatment)
	base.Controls = act.SplitControls(get(fieldControls))
	return act.Assessed{Risk: base, Justification: strings.TrimSpace(get(fieldJustification))}
}

// readOwner reads an owner's completed form: their risks re-scored, then
// the risks they propose, given IDs from newID(n).
func readOwner(risks []act.Risk, owner string, v humantask.Values, newID func(n int) string) []act.Assessed {
	var out []act.Assessed
	for i, r := range risks {
		out = append(out, scored(r, func(f string) string { return v.Fields[groupField(i, f)] }))
	}
	for n, item := range v.Lists[fieldNewRisks] {
		as := scored(act.Risk{ID: newID(n + 1), OwnerID: owner, Title: strings.TrimSpace(item[fieldTitle]),
			Description: strings.TrimSpace(item[fieldDescription]), Category: strings.TrimSpace(item[fieldCategory])},
			func(f string) string { return item[f] })
		as.Proposed = true
		out = append(out, as)
	}
	return out
}

// acceptanceForm asks the officer for the acceptance's expiry.
func acceptanceForm() *humantask.Form {
	return &humantask.Form{For: []humantask.Action{humantask.ActionApprove}, Fields: []humantask.Field{
		{Name: fieldExpiresOn, Label: "Accepted until", Kind: humantask.FieldDate, Required: true,
			Help: "At most a year from today; the owner reviews the risk again then."},
	}}
}
