package program

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/workflows"
)

// vendorCadence reads a vendor-review obligation's vendors key:
//
//	vendors:
//	  cadence: {critical: 12mo, high: 12mo, medium: 24mo, low: 24mo}
//	  request_before: 60d
//
// Every criticality needs a cadence, so no vendor goes unreviewed; the next
// request goes out request_before the last report's coverage (its period
// end plus the cadence) ends.
func (p *parser) vendorCadence(n *yaml.Node, field string) *workflows.VendorCadence {
	vc := &workflows.VendorCadence{MonthsByCriticality: map[string]int{}}
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"cadence": func(v *yaml.Node, f string) {
			keys := map[string]func(*yaml.Node, string){}
			for _, c := range directory.Criticalities {
				keys[c] = func(v *yaml.Node, f string) {
					if m := p.months(v, f); m > 0 {
						vc.MonthsByCriticality[c] = m
					}
				}
			}
			p.mapping(v, f, keys, directory.Criticalities...)
		},
		"request_before": func(v *yaml.Node, f string) {
			d := p.duration(v, f)
			if d%(24*time.Hour) != 0 {
				p.fail(v, f, "must be whole days, e.g. 60d")
			}
			vc.RequestBeforeDays = int(d / (24 * time.Hour))
		},
	}, "cadence", "request_before")
	return vc
}

// months reads a period in months: 12mo, or years: 1y, 2y.
func (p *parser) months(n *yaml.Node, field string) int {
	s := p.text(n, field)
	if s == "" {
		return 0
	}
	num, mult := s, 1
	switch {
	case strings.HasSuffix(s, "mo"):
		num = strings.TrimSuffix(s, "mo")
	case strings.HasSuffix(s, "y"):
		num, mult = strings.TrimSuffix(s, "y"), 12
	default:
		p.fail(n, field, "%q is not a period in months or years, such as 12mo or 2y", s)
		return 0
	}
	v, err := strconv.Atoi(num)
	if err != nil || v <= 0 {
		p.fail(n, field, "%q is not a period in months or years, such as 12mo or 2y", s)
		return 0
	}
	return v * mult
}
