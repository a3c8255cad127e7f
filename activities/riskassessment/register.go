// Package riskassessment holds the side effects of the risk register and
// its annual assessment (controls lists A and B: "A risk register is
// maintained"; "A formal annual risk assessment is performed and
// documented"): the register's import, each assessment's record, every
// owner's re-scoring kept as it was that year, and the sign-offs. Every step
// is written to the audit log under the assessment's controls, in the
// transaction that records it.
package riskassessment

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Process is the name the program file knows the annual risk assessment by.
const Process = "annual-risk-assessment"

// Treatments a risk may have (risk-assessment policy: mitigate, accept,
// transfer or avoid).
const (
	TreatmentMitigate = "mitigate"
	TreatmentAccept   = "accept"
	TreatmentTransfer = "transfer"
	TreatmentAvoid    = "avoid"
)

// Treatments lists every treatment, in the order forms offer them.
var Treatments = []string{TreatmentMitigate, TreatmentAccept, TreatmentTransfer, TreatmentAvoid}

// Risk is one entry of the register.
type Risk struct {
	ID                 string   `db:"id"`
	Title              string   `db:"title"`
	Description        string   `db:"description"`
	Category           string   `db:"category"`
	OwnerID            string   `db:"owner_id"`
	Likelihood         int      `db:"likelihood"`
	Impact             int      `db:"impact"`
	Treatment          string   `db:"treatment"`
	Controls           []string `db:"-"`
	ResidualLikelihood int      `db:"residual_likelihood"`
	ResidualImpact     int      `db:"residual_impact"`
}

// Score is the inherent score: likelihood x impact.
func (r Risk) Score() int { return r.Likelihood * r.Impact }

// ResidualScore is the score left after the risk's controls.
func (r Risk) ResidualScore() int { return r.ResidualLikelihood * r.ResidualImpact }

// NeedsAcceptance reports whether the risk is accepted with a residual
// score above the tolerance: it then needs the officer's and the CEO's
// sign-off and an expiry (issue item 6).
func (r Risk) NeedsAcceptance(tolerance int) bool {
	return r.Treatment == TreatmentAccept && r.ResidualScore() > tolerance
}

// Rating reads a likelihood or impact, 1 to 5; the error says what was wrong.
func Rating(name, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > 5 {
		return 0, fmt.Errorf("%s %q: must be a whole number from 1 to 5", name, v)
	}
	return n, nil
}

// CheckTreatment refuses anything but the four treatments.
func CheckTreatment(v string) error {
	if !slices.Contains(Treatments, v) {
		return fmt.Errorf("treatment %q: must be one of %s", v, strings.Join(Treatments, ", "))
	}
	return nil
}

// SplitControls reads a list of control IDs separated by spaces, commas or
// semicolons (a CSV cell, a form field).
func SplitControls(v string) []string {
	ids := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == ';' })
	slices.Sort(ids)
	return slices.Compact(ids)
}
