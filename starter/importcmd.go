package main

import (
	"context"
	"fmt"
	"os"

	"github.com/complyflow/complyflow/directory"
)

func init() {
	commands["import"] = command{"import people|systems|vendors FILE.csv (upsert by id, all rows or none)", runImport}
}

func runImport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import", "import [--as PERSON] people|systems|vendors FILE.csv")
	as := fs.String("as", "", "the person the import is made for, recorded as cli:$USER on behalf of them (default: cli:$USER alone)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return usagef("expected a kind (people, systems or vendors) and a CSV file")
	}
	kind, file := directory.Kind(fs.Arg(0)), fs.Arg(1)
	if _, ok := directory.Columns[kind]; !ok {
		return usagef("unknown kind %q: expected people, systems or vendors", kind)
	}
	f, err := os.Open(file)
	if err != nil {
		return usagef("%v", err)
	}
	defer f.Close()
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	actor := cliActor()
	if *as != "" {
		actor = onBehalfOf(*as)
	}
	res, err := directory.Import(ctx, db, kind, file, f, actor)
	if rowErrs, ok := err.(directory.RowErrors); ok {
		for _, e := range rowErrs {
			fmt.Fprintln(env.Stderr, e)
		}
		return usagef("%s: %d problem(s); nothing was imported", file, len(rowErrs))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %d inserted, %d updated\n", kind, res.Inserted, res.Updated)
	// The HR feed: an end date newly set starts that person's offboarding.
	return startLeavers(ctx, env, res.Leavers)
}
