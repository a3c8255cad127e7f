package main

import (
	"context"
	"fmt"

	"github.com/complyflow/complyflow/schema"
)

func init() {
	commands["migrate"] = command{"apply the schema migrations not yet applied", runMigrate}
}

func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate", "migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := env.OwnerDB(ctx)
	if err != nil {
		return err
	}
	applied, err := schema.Migrate(ctx, db)
	for _, v := range applied {
		fmt.Fprintf(env.Stdout, "applied %s\n", v)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(env.Stdout, "schema is current (%s)\n", schema.Latest())
	}
	return nil
}
