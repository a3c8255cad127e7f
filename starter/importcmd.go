package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/workflows/campaign"
	"github.com/jmoiron/sqlx"
)

func init() {
	commands["import"] = command{"import people|systems|vendors|risks FILE.csv (upsert by id, all rows or none)", runImport}
}

func runImport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import", "import [--as PERSON] people|systems|vendors|risks FILE.csv")
	as := fs.String("as", "", "the person the import is made for, recorded as cli:$USER on behalf of them (default: cli:$USER alone)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return usagef("expected a kind (people, systems, vendors or risks) and a CSV file")
	}
	kind, file := directory.Kind(fs.Arg(0)), fs.Arg(1)
	if _, ok := directory.Columns[kind]; !ok && kind != "risks" {
		return usagef("unknown kind %q: expected people, systems, vendors or risks", kind)
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
	if kind == "risks" {
		return importRisks(ctx, env, db, file, f, actor)
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
	if kind != directory.People {
		return nil
	}
	// The HR feed: an end date newly set starts that person's offboarding;
	// a new hire is enrolled in their campaigns.
	leaversErr := startLeavers(ctx, env, res.Leavers)
	return errors.Join(leaversErr, enrollNewHires(ctx, env, db))
}

// enrollNewHires hands the people just imported who are new hires to their
// cohorts' campaigns (issue 11 item 6). The import is committed already; a
// failure here says so, and running the import again enrols them.
func enrollNewHires(ctx context.Context, env *Env, db *sqlx.DB) error {
	cohorts, err := campaign.EnrollNewHires(ctx, db, env.Temporal, env.TaskQueue(), time.Now())
	for _, ch := range cohorts {
		fmt.Fprintf(env.Stdout, "new hires starting %s: %s enrolled in %s\n", ch.Start.Format("2006-01-02"), strings.Join(ch.People, ", "), ch.CampaignID)
	}
	if err != nil {
		return fmt.Errorf("the import is recorded, but its new hires are not enrolled in their campaigns (run the import again to retry): %w", err)
	}
	return nil
}
