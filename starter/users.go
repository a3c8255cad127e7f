package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/platform"
)

func init() {
	commands["users"] = command{"users invite --person P --role R: email P a link to set up a portal account; `users role`, `users reset`, `users demo`, `users code`", runUsers}
}

const usersUsage = `users invite --person P --role employee|manager|officer|auditor|admin [--valid-until YYYY-MM-DD] [--audit-from D --audit-to D] [--as WHO]
       starter users reset --person P [--as WHO]
       starter users role --person P --role R [--as WHO]
       starter users demo
       starter users code SECRET`

func runUsers(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(env.Stderr, "usage: starter %s\n", usersUsage)
		if len(args) == 0 {
			return usagef("expected invite, reset, role, demo or code")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "invite":
		return runUsersInvite(ctx, env, args[1:])
	case "reset":
		return runUsersReset(ctx, env, args[1:])
	case "role":
		return runUsersRole(ctx, env, args[1:])
	case "demo":
		return runUsersDemo(ctx, env, args[1:])
	case "code":
		return runUsersCode(env, args[1:])
	}
	return usagef("unknown users command %q (invite, reset, role, demo or code)", args[0])
}

// runUsersInvite makes the account and emails the person a signed,
// single-use, expiring link to choose their password (issue 15 item 1).
func runUsersInvite(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "users invite", usersUsage)
	person := fs.String("person", "", "the person (their directory ID)")
	role := fs.String("role", "", "employee, manager, officer, auditor or admin")
	validUntil := fs.String("valid-until", "", "the last day the account works (YYYY-MM-DD; required for an auditor)")
	auditFrom := fs.String("audit-from", "", "an auditor's audit period: its first day (YYYY-MM-DD)")
	auditTo := fs.String("audit-to", "", "an auditor's audit period: its last day (YYYY-MM-DD)")
	as := fs.String("as", "", "who invites (recorded)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *person == "" || *role == "" {
		return usagef("--person and --role are required")
	}
	n := accounts.New{PersonID: *person, Role: *role, AuditFrom: *auditFrom, AuditTo: *auditTo, By: actor(*as)}
	if *validUntil != "" {
		d, err := time.Parse(time.DateOnly, *validUntil)
		if err != nil {
			return usagef("--valid-until %q: want YYYY-MM-DD", *validUntil)
		}
		end := d.Add(24 * time.Hour) // to the end of that day (UTC)
		n.ValidUntil = &end
	}
	for flagName, v := range map[string]string{"audit-from": *auditFrom, "audit-to": *auditTo} {
		if _, err := time.Parse(time.DateOnly, v); v != "" && err != nil {
			return usagef("--%s %q: want YYYY-MM-DD", flagName, v)
		}
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if err := accounts.Create(ctx, db, n); err != nil {
		return usagef("%v", err)
	}
	return sendAccountLink(ctx, env, *person, accounts.Invite, n.By)
}

func runUsersReset(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "users reset", usersUsage)
	person := fs.String("person", "", "the person whose password to reset")
	as := fs.String("as", "", "who asks (recorded)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *person == "" {
		return usagef("--person is required")
	}
	return sendAccountLink(ctx, env, *person, accounts.Reset, actor(*as))
}

// sendAccountLink issues the link, emails it and prints it (for the
// operator to hand over when mail does not reach the person).
func sendAccountLink(ctx context.Context, env *Env, person string, purpose accounts.Purpose, by string) error {
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	a, err := accounts.Lookup(ctx, db, person)
	if errors.Is(err, accounts.ErrNoAccount) {
		return usagef("person %q has no account (invite them first)", person)
	}
	if err != nil {
		return err
	}
	signer, err := links.NewSigner(cfg.LinkSigningKeys)
	if err != nil {
		return err
	}
	url, expires, err := accounts.IssueLink(ctx, db, signer, cfg.PortalBaseURL, person, purpose, by)
	if err != nil {
		return err
	}
	subject, text := accounts.LinkEmail(a.Name, purpose, url, expires)
	if _, err := platform.NewMailer(cfg).Send(ctx, notify.Email{To: a.Email, ToName: a.Name, Subject: subject, Text: text}); err != nil {
		return fmt.Errorf("email the %s link to %s: %w", purpose, a.Email, err)
	}
	fmt.Fprintf(env.Stdout, "%s sent to %s (works once, until %s):\n%s\n", purpose, a.Email, expires.UTC().Format(time.RFC3339), url)
	return nil
}

func runUsersRole(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "users role", usersUsage)
	person := fs.String("person", "", "the person")
	role := fs.String("role", "", "their new role")
	as := fs.String("as", "", "who changes it (recorded)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *person == "" || *role == "" {
		return usagef("--person and --role are required")
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if err := accounts.SetRole(ctx, db, *person, *role, actor(*as)); err != nil {
		return usagef("%v", err)
	}
	fmt.Fprintf(env.Stdout, "%s is now %s; their sessions were ended\n", *person, *role)
	return nil
}

// runUsersCode prints the current TOTP code of a secret: the demo's stand-in
// for an authenticator app.
func runUsersCode(env *Env, args []string) error {
	if len(args) != 1 {
		return usagef("usage: starter users code SECRET")
	}
	code, err := accounts.TOTPCode(args[0], time.Now())
	if err != nil {
		return usagef("%q is not a TOTP secret: %v", args[0], err)
	}
	fmt.Fprintln(env.Stdout, code)
	return nil
}

func actor(as string) string {
	if as == "" {
		return cliActor()
	}
	return onBehalfOf(as)
}
