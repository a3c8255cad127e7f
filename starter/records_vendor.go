package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	vendoract "github.com/complyflow/complyflow/activities/vendorreview"
)

func init() {
	recordKinds["vendor-reviews"] = command{"vendor-reviews [--vendor ID] [--json]: each vendor review cycle (report, period, opinion, file SHA-256s, reviewer, decision) and which vendors' coverage has lapsed", runRecordsVendorReviews}
}

// vendorRecords is what `records vendor-reviews --json` prints.
type vendorRecords struct {
	Cycles  []vendoract.Record   `json:"cycles"`
	Vendors []vendoract.Standing `json:"vendors"`
}

func runRecordsVendorReviews(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records vendor-reviews", "records vendor-reviews [--vendor ID] [--json]")
	only := fs.String("vendor", "", "one vendor only")
	asJSON := fs.Bool("json", false, "print JSON (every file's sha256 included)")
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
	var out vendorRecords
	if out.Vendors, err = vendoract.Standings(ctx, db, *only, time.Now()); err != nil {
		return err
	}
	if *only != "" && len(out.Vendors) == 0 {
		return usagef("vendor %q is not in the directory", *only)
	}
	if out.Cycles, err = vendoract.Records(ctx, db, *only); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CYCLE\tSTATE\tREPORT\tPERIOD\tOPINION\tSHA-256\tREVIEWER\tDECISION\tWHEN")
	for _, r := range out.Cycles {
		period := "-"
		if r.PeriodStart != nil && r.PeriodEnd != nil {
			period = r.PeriodStart.Format(time.DateOnly) + ".." + r.PeriodEnd.Format(time.DateOnly)
		}
		shas := make([]string, len(r.Files))
		for i, f := range r.Files {
			shas[i] = f.SHA256
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, orDash(r.ReportType), period, orDash(r.Opinion),
			orDash(strings.Join(shas, ",")), r.ReviewerID, orDash(r.Decision), stamp(r.DecidedAt))
	}
	tw.Flush()
	fmt.Fprintln(env.Stdout)
	tw = tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tCRITICALITY\tCOVERAGE\tUNTIL")
	for _, v := range out.Vendors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.VendorID, v.Criticality, v.State, stamp(v.CoverageUntil))
	}
	return tw.Flush()
}
