package main

import (
	"context"
	"fmt"

	"github.com/complyflow/complyflow/audit"
)

func init() {
	commands["audit"] = command{"audit verify: check the audit log's hash chain", runAudit}
}

func runAudit(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "audit", []subcommand{{"verify", runAuditVerify}}, args)
}

func runAuditVerify(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit verify", "audit verify")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	n, err := audit.Verify(ctx, db)
	if err != nil {
		return fmt.Errorf("%d rows verified, then: %w", n, err)
	}
	fmt.Fprintf(env.Stdout, "audit log intact: %d rows verified\n", n)
	return nil
}
