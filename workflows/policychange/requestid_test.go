package policychange

import (
	"strings"
	"testing"
)

// A request's ID is derived from what it asks: the same request twice gives
// one ID (so a double submit starts one workflow), any field changed another.
func TestRequestIDDerivesFromTheRequest(t *testing.T) {
	base := Input{PolicyID: "access", Kind: "minor", Summary: "fix a typo", Text: "v1 fixed", Reference: "https://git/pr/1", RequesterID: "eve"}
	id := RequestID(base)
	if id != RequestID(base) {
		t.Fatalf("RequestID is not deterministic")
	}
	if !strings.HasPrefix(id, "change-request/access/") || len(id) != len("change-request/access/")+16 {
		t.Errorf("RequestID = %q, want change-request/access/ and 16 hex digits", id)
	}
	same := base
	same.DuePeriod, same.ReviewID = 1, "ignored" // how it is run is not what it asks
	if RequestID(same) != id {
		t.Errorf("RequestID depends on the run's settings")
	}
	for name, change := range map[string]func(*Input){
		"policy":     func(in *Input) { in.PolicyID = "privacy" },
		"kind":       func(in *Input) { in.Kind = "material" },
		"summary":    func(in *Input) { in.Summary = "fix two typos" },
		"text":       func(in *Input) { in.Text = "v1 fixed again" },
		"reference":  func(in *Input) { in.Reference = "https://git/pr/2" },
		"requester":  func(in *Input) { in.RequesterID = "sam" },
		"production": func(in *Input) { in.NeedsProductionChange = true },
		"boundaries": func(in *Input) { in.Summary, in.Text = "fix a typov1", " fixed" },
	} {
		in := base
		change(&in)
		if RequestID(in) == id {
			t.Errorf("%s changed, same ID %s", name, id)
		}
	}
}
