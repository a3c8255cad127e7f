package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/complyflow/complyflow/accounts"
)

// demoAccount is one sign-in `make run` prints. The passwords and TOTP
// secrets are fixed and public: for the demo's database only.
type demoAccount struct {
	Person, Role, Password, TOTPSecret string
}

// The demo's people (demo/people.csv) holding each role. The demo has no
// external auditor, so the finance manager plays the internal auditor.
var demoAccounts = []demoAccount{
	{"p-liam-schmidt", "employee", "Demo-Employee-1!", ""},
	{"p-platform-manager", "manager", "Demo-Manager-1!", ""},
	{"p-security-officer", "officer", "Demo-Officer-1!", "DEMOOFFICERTOTPSECRETONLYFORDEMO"},
	{"p-finance-manager", "auditor", "Demo-Auditor-1!", "DEMOAUDITORTOTPSECRETONLYFORDEMO"},
	{"p-it-manager", "admin", "Demo-Admin-1!", "DEMOADMINTOTPSECRETONLYFORDEMOAA"},
}

// runUsersDemo gives each demo person their account, once, and prints every
// sign-in (issue 15: "the demo prints one sign-in per role").
func runUsersDemo(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("users demo takes no arguments")
	}
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Demo sign-ins at %s/signin (demo only; `bin/starter users code SECRET` prints the current code):\n", cfg.PortalBaseURL)
	for _, d := range demoAccounts {
		a, err := accounts.Lookup(ctx, db, d.Person)
		if errors.Is(err, accounts.ErrNoAccount) {
			var until *time.Time
			if d.Role == "auditor" {
				t := time.Now().AddDate(1, 0, 0)
				until = &t
			}
			// The demo's records are this year's: the auditor audits it.
			year := time.Now().Year()
			n := accounts.New{PersonID: d.Person, Role: d.Role, ValidUntil: until, By: "demo"}
			if d.Role == "auditor" {
				n.AuditFrom, n.AuditTo = fmt.Sprintf("%d-01-01", year), fmt.Sprintf("%d-12-31", year)
			}
			if err := accounts.Provision(ctx, db, n, d.Password, d.TOTPSecret); err != nil {
				return fmt.Errorf("demo account %s: %w", d.Person, err)
			}
			a, err = accounts.Lookup(ctx, db, d.Person)
		}
		if err != nil {
			return err
		}
		line := fmt.Sprintf("  %-9s %-28s password %s", d.Role, a.Email, d.Password)
		if d.TOTPSecret != "" {
			line += "  TOTP secret " + d.TOTPSecret
		}
		fmt.Fprintln(env.Stdout, strings.TrimRight(line, " "))
	}
	return nil
}
