package program

import (
	"slices"
	"testing"
)

// The demo program must validate, and hold to policy-management's rule that
// requirements map to controls: every control meets some requirement and
// every policy is implemented by some control.
func TestDemoProgram(t *testing.T) {
	p, err := Load("../demo/program.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	implemented := map[string]bool{}
	for _, c := range p.Controls {
		if len(c.Requirements) == 0 {
			t.Errorf("control %s maps to no framework requirement", c.ID)
		}
		for _, pol := range c.Policies {
			implemented[pol] = true
		}
	}
	for _, pol := range p.Policies {
		if !implemented[pol.ID] {
			t.Errorf("policy %s is implemented by no control", pol.ID)
		}
	}
	for _, role := range RoleNames {
		if len(p.Roles[role]) == 0 {
			t.Errorf("role %s has nobody", role)
		}
	}
	// policy-management (c): the product development policies say so.
	var pd []string
	for _, pol := range p.Policies {
		if pol.ProductDevelopment {
			pd = append(pd, pol.ID)
		}
	}
	if want := []string{"change-management", "secure-development"}; !slices.Equal(pd, want) {
		t.Errorf("product development policies = %v, want %v", pd, want)
	}
	if len(p.Obligations) == 0 || p.Obligations[0].Process != "annual-policy-review" {
		t.Errorf("obligations = %+v, want the annual policy review", p.Obligations)
	}
}
