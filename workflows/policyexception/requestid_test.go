package policyexception

import (
	"strings"
	"testing"
	"time"
)

// An exception request's ID is derived from what it asks: the same request
// twice gives one ID, any field changed another.
func TestRequestIDDerivesFromTheRequest(t *testing.T) {
	expires := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	base := Input{PolicyID: "access", RequesterID: "eve", Purpose: "legacy VPN", Reason: "no MFA", Expires: expires}
	id := RequestID(base)
	if !strings.HasPrefix(id, "policy-exception/access/") || len(id) != len("policy-exception/access/")+16 {
		t.Errorf("RequestID = %q, want policy-exception/access/ and 16 hex digits", id)
	}
	same := base
	same.Expires = expires.In(time.FixedZone("CET", 3600)) // the same instant
	if RequestID(same) != id {
		t.Errorf("the same expiry in another zone gave another ID")
	}
	for name, change := range map[string]func(*Input){
		"policy":    func(in *Input) { in.PolicyID = "privacy" },
		"purpose":   func(in *Input) { in.Purpose = "legacy VPN appliance" },
		"reason":    func(in *Input) { in.Reason = "no MFA at all" },
		"expiry":    func(in *Input) { in.Expires = expires.AddDate(0, 0, 1) },
		"requester": func(in *Input) { in.RequesterID = "sam" },
	} {
		in := base
		change(&in)
		if RequestID(in) == id {
			t.Errorf("%s changed, same ID %s", name, id)
		}
	}
}
