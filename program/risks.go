package program

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// riskTolerance reads the annual risk assessment's risk_tolerance: a
// residual score, likelihood x impact, from 1 to 25.
func (p *parser) riskTolerance(n *yaml.Node, field string) int {
	v, err := strconv.Atoi(p.text(n, field))
	if err != nil || v < 1 || v > 25 {
		p.fail(n, field, "%q is not a score from 1 to 25 (likelihood x impact)", n.Value)
		return 0
	}
	return v
}
