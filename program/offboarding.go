package program

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"gopkg.in/yaml.v3"
)

// Criticalities are a system's criticality levels, as systems.csv spells them.
var Criticalities = []string{"low", "medium", "high", "critical"}

// OffboardingRule is how fast one criticality of system must lose a leaver's
// access (controls lists A and B: "Upon termination ... system access is
// removed"): Deadline after the end of the last day, a reminder every
// RemindEvery, the owner's manager added at the deadline and the security
// officer OfficerAfter later.
type OffboardingRule struct {
	Deadline     time.Duration
	RemindEvery  time.Duration
	OfficerAfter time.Duration
}

// offboarding reads the offboarding section: one rule per criticality, all four given.
func (p *parser) offboarding(n *yaml.Node, field string) {
	keys := map[string]func(*yaml.Node, string){}
	p.prog.Offboarding = map[string]OffboardingRule{}
	for _, c := range Criticalities {
		keys[c] = func(v *yaml.Node, f string) {
			var r OffboardingRule
			var officerSet bool
			p.mapping(v, f, map[string]func(*yaml.Node, string){
				"deadline":     func(v *yaml.Node, f string) { r.Deadline = p.duration(v, f) },
				"remind_every": func(v *yaml.Node, f string) { r.RemindEvery = p.duration(v, f) },
				"escalate_to_officer": func(v *yaml.Node, f string) {
					officerSet = true
					r.OfficerAfter = p.duration(v, f)
				},
			}, "deadline", "remind_every", "escalate_to_officer")
			if officerSet {
				p.prog.Offboarding[c] = r
			}
		}
	}
	p.mapping(n, field, keys, Criticalities...)
}

// recordOffboarding replaces the offboarding rules with the file's; a file
// without the section leaves none, and offboarding is refused until one is
// applied.
func recordOffboarding(ctx context.Context, tx *sqlx.Tx, p *Program) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM offboarding_deadlines`); err != nil {
		return fmt.Errorf("offboarding deadlines: %w", err)
	}
	for c, r := range p.Offboarding {
		if _, err := tx.ExecContext(ctx, `INSERT INTO offboarding_deadlines (criticality, deadline_after, remind_every, officer_after)
			VALUES ($1, make_interval(secs => $2), make_interval(secs => $3), make_interval(secs => $4))`,
			c, r.Deadline.Seconds(), r.RemindEvery.Seconds(), r.OfficerAfter.Seconds()); err != nil {
			return fmt.Errorf("offboarding deadline %s: %w", c, err)
		}
	}
	return nil
}
