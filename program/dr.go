package program

import (
	"slices"
	"strings"

	dract "github.com/complyflow/complyflow/activities/drtest"

	"gopkg.in/yaml.v3"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/period"
)

// drProcesses are the processes that run against the DR plan.
var drProcesses = []string{"dr-test", "backup-restore-test"}

// dr reads the DR/BCP plan (controls lists A and B: "The Business
// Continuity and Disaster Recovery Plans are periodically tested"):
//
//	dr:
//	  participants: dr_team        # a role: told of each exercise
//	  coordinator: p-sre-lead      # plans the tests, records the results
//	  plan_owner: p-coo            # updates the plan after a failed test
//	  targets:
//	    tiers: {critical: {rto: 4h, rpo: 1h}, ...}   # by system criticality
//	    systems: {sys-github: {rto: 2h, rpo: 15m}}    # a system's own, over its tier's
func (p *parser) dr(n *yaml.Node, field string) {
	plan := &dract.Plan{}
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"participants": func(v *yaml.Node, f string) {
			plan.ParticipantsRole = strings.TrimPrefix(p.text(v, f), "role:")
			p.refs = append(p.refs, reference{"role", plan.ParticipantsRole, v.Line, f})
		},
		"coordinator": func(v *yaml.Node, f string) {
			plan.CoordinatorID = p.text(v, f)
			p.person(plan.CoordinatorID, v.Line, f)
		},
		"plan_owner": func(v *yaml.Node, f string) {
			plan.PlanOwnerID = p.text(v, f)
			p.person(plan.PlanOwnerID, v.Line, f)
		},
		"targets": func(v *yaml.Node, f string) {
			p.mapping(v, f, map[string]func(*yaml.Node, string){
				"tiers": func(v *yaml.Node, f string) {
					keys := map[string]func(*yaml.Node, string){}
					for _, c := range directory.Criticalities {
						keys[c] = func(v *yaml.Node, f string) {
							if t, ok := p.recoveryTarget(v, f); ok {
								t.Tier = c
								plan.Targets = append(plan.Targets, t)
							}
						}
					}
					p.mapping(v, f, keys)
				},
				"systems": func(v *yaml.Node, f string) {
					if v.Kind != yaml.MappingNode {
						p.fail(v, f, "expected a mapping of system IDs to {rto, rpo}")
						return
					}
					for i := 0; i+1 < len(v.Content); i += 2 {
						id := v.Content[i].Value
						if t, ok := p.recoveryTarget(v.Content[i+1], join(f, id)); ok {
							t.SystemID = id
							plan.Targets = append(plan.Targets, t)
						}
					}
				},
			})
			if len(plan.Targets) == 0 {
				p.fail(v, f, "set at least one recovery target (tiers or systems)")
			}
		},
	}, "participants", "coordinator", "plan_owner", "targets")
	p.prog.DR = plan
}

// recoveryTarget reads {rto: 4h, rpo: 1h}.
func (p *parser) recoveryTarget(n *yaml.Node, field string) (dract.RecoveryTarget, bool) {
	var t dract.RecoveryTarget
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"rto": func(v *yaml.Node, f string) { t.RTO = p.duration(v, f) },
		"rpo": func(v *yaml.Node, f string) { t.RPO = p.duration(v, f) },
	}, "rto", "rpo")
	return t, t.RTO > 0 && t.RPO > 0
}

// noteDR remembers o, about to be appended, when it runs against the plan.
func (p *parser) noteDR(n *yaml.Node, field string, o Obligation) {
	if slices.Contains(drProcesses, o.Process) {
		p.drObligations = append(p.drObligations, drObligation{len(p.prog.Obligations), n.Line, join(field, "process")})
	}
}

// jitter checks an obligation's jitter: each run starts at a random time up
// to this long after the scheduled one (a random backup-restore test:
// nobody knows when it comes), so the jitter and the due period together
// must be shorter than the schedule's interval, or a late run would still
// be open when the next one is due.
func (p *parser) jitter(n *yaml.Node, field string, o Obligation) {
	if o.Jitter <= 0 || o.Schedule.spec == nil {
		return
	}
	if interval := o.Schedule.MinInterval(p.opts.Now); interval > 0 && o.Jitter+o.Due >= interval {
		p.fail(n, field, "%s (and %s due) is not shorter than the schedule's interval (%s): a late run would still be open when the next one starts",
			period.Format(o.Jitter), period.Format(o.Due), period.Format(interval))
	}
}

// resolveDR hands the DR plan to every obligation whose process runs
// against it, and refuses one when the file has no plan.
func (p *parser) resolveDR() {
	for _, r := range p.drObligations {
		o := &p.prog.Obligations[r.index]
		if p.prog.DR == nil {
			p.errs = append(p.errs, Error{p.file, r.line, r.field, "process " + o.Process + " needs the dr section (the DR plan: coordinator, plan owner, recovery targets)"})
			continue
		}
		o.DR = p.prog.DR
	}
}

// drObligation is an obligation that runs against the DR plan, located.
type drObligation struct {
	index int
	line  int
	field string
}
