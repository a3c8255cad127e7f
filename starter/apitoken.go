package main

import (
	"context"
	"fmt"
	"time"

	"github.com/complyflow/complyflow/apitoken"
)

func init() {
	commands["api-token"] = command{"api-token create|revoke: bearer tokens for an auditor's use of the portal's JSON API (/api/v1)", runAPIToken}
}

func runAPIToken(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "api-token", []subcommand{
		{"create", runAPITokenCreate},
		{"revoke", runAPITokenRevoke},
	}, args)
}

// runAPITokenCreate is an admin's action (issue 16 item 6): the token is
// printed once, and only its SHA-256 is kept.
func runAPITokenCreate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "api-token create", "api-token create --person P --expires YYYY-MM-DD [--as WHO]")
	person := fs.String("person", "", "the auditor the token acts as (their directory ID; required)")
	expires := fs.String("expires", "", "the last day the token works, YYYY-MM-DD (UTC; required, no later than the account's end)")
	as := fs.String("as", "", "who creates it (recorded)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *person == "" || *expires == "" {
		return usagef("--person and --expires are required")
	}
	d, err := time.Parse(time.DateOnly, *expires)
	if err != nil {
		return usagef("--expires %q: want YYYY-MM-DD", *expires)
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	is, err := apitoken.Create(ctx, db, *person, d.Add(24*time.Hour), actor(*as)) // to the end of that day (UTC)
	if err != nil {
		return usagef("%v", err)
	}
	fmt.Fprintf(env.Stdout, "API token %s for %s, until %s (shown once; keep it secret):\n%s\n",
		is.ID, *person, is.Expires.UTC().Format(time.RFC3339), is.Token)
	fmt.Fprintf(env.Stdout, "Use: curl -H 'Authorization: Bearer %s' '<portal>/api/v1/records?framework=soc2&control=CC5.3&year=%d'\n", is.Token, time.Now().Year())
	return nil
}

func runAPITokenRevoke(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "api-token revoke", "api-token revoke --id tok-... [--as WHO]")
	id := fs.String("id", "", "the token's id, as `api-token create` printed it (required)")
	as := fs.String("as", "", "who revokes it (recorded)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" {
		return usagef("--id is required")
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if err := apitoken.Revoke(ctx, db, *id, actor(*as)); err != nil {
		return usagef("%v", err)
	}
	fmt.Fprintf(env.Stdout, "API token %s revoked\n", *id)
	return nil
}
