package main

import (
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
)

// The only Security Officer asking for an exception is refused before any
// workflow starts: nobody else could approve it, and the one line says which
// role to fill.
func TestExceptionCommandRefusesTheSoleHolderOfARole(t *testing.T) {
	db := testenv.Postgres(t)
	seedPolicies(t, db)
	code, out, errOut := starterIn(t, db, "exception", "--policy", "access", "--purpose", "legacy VPN for a customer",
		"--reason", "the appliance cannot do MFA", "--expires", time.Now().AddDate(0, 6, 0).Format(time.DateOnly), "--as", "sam")
	if code != 2 || !strings.Contains(errOut, "sam is the only holder of the role security_officer") ||
		!strings.Contains(errOut, "roles.security_officer in the program file") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 with one line naming the role to fill", code, out, errOut)
	}
	var n int
	db.Owner.Get(&n, `SELECT count(*) FROM policy_exceptions`)
	if n != 0 {
		t.Errorf("%d exceptions recorded", n)
	}
}
