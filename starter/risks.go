package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	riskact "github.com/complyflow/complyflow/activities/riskassessment"
	"github.com/complyflow/complyflow/directory"
)

func init() {
	recordKinds["risk-assessments"] = command{"risk-assessments [--year Y] [--json]: each risk as each annual assessment scored it, its change since the last one, who assessed it and when", runRiskAssessmentRecords}
}

// importRisks is `starter import risks FILE.csv`: the risk register, all
// rows or none (issue item 5).
func importRisks(ctx context.Context, env *Env, db *sqlx.DB, file string, in io.Reader, actor string) error {
	res, err := riskact.Import(ctx, db, file, in, actor)
	if rowErrs, ok := err.(directory.RowErrors); ok {
		for _, e := range rowErrs {
			fmt.Fprintln(env.Stderr, e)
		}
		return usagef("%s: %d problem(s); nothing was imported", file, len(rowErrs))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "risks: %d inserted, %d updated\n", res.Inserted, res.Updated)
	return nil
}

// runRiskAssessmentRecords is `starter records risk-assessments [--year Y]
// [--json]` (issue item 7): each risk as each assessment scored it, with
// its change since the assessment before, who assessed it and when.
func runRiskAssessmentRecords(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records risk-assessments", "records risk-assessments [--year Y] [--json]")
	year := fs.Int("year", 0, "only this year's assessments (default: every year)")
	asJSON := fs.Bool("json", false, "print JSON, one object per risk and assessment")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	rows, err := riskact.History(ctx, db, *year)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(env.Stdout, "no risk assessments recorded")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "YEAR\tASSESSMENT\tRISK\tSCORE\tRESIDUAL\tTREATMENT\tCHANGE\tASSESSED BY\tAT\tSIGNED OFF")
	for _, r := range rows {
		signed := "-"
		if r.SignedOffBy != "" {
			signed = r.SignedOffBy + " " + r.SignedOffAt.UTC().Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Year, r.AssessmentID, r.RiskID, r.Score, r.ResidualScore, r.Treatment,
			strings.Join(r.Change(), "; "), r.AssessedBy, r.AssessedAt.UTC().Format(time.DateOnly), signed)
	}
	return tw.Flush()
}
