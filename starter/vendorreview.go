package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	vendoract "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/internal/period"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/program"
	"github.com/complyflow/complyflow/workflows/vendorreview"
)

func init() {
	commands["vendor-review"] = command{"vendor-review start --vendor ID [--cycle NAME] [--reviewer PERSON]: ask a vendor for its SOC 2 report now", runVendorReview}
}

func runVendorReview(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "vendor-review", []subcommand{{"start", runVendorReviewStart}}, args)
}

// runVendorReviewStart starts one cycle for a vendor with the program in
// force's vendor-review obligation (due period, reminders, escalation,
// controls, the cadence of the vendor's criticality), and prints its
// workflow ID as its last line. A cycle already started is refused.
func runVendorReviewStart(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "vendor-review start", "vendor-review start --vendor ID [--cycle NAME] [--reviewer PERSON]")
	vendorID := fs.String("vendor", "", "the vendor's ID (starter import vendors)")
	cycle := fs.String("cycle", time.Now().UTC().Format("2006"), "the cycle's name, part of its ID")
	reviewer := fs.String("reviewer", "", "who reviews the report (default: the vendor's owner)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *vendorID == "" {
		return usagef("--vendor is required")
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	ob, err := vendorObligation(ctx, db)
	if err != nil {
		return err
	}
	v, err := vendoract.LookupVendor(ctx, db, *vendorID)
	if reason, ok := refusal.Reason(err); ok {
		return usagef("%s", reason)
	} else if err != nil {
		return err
	}
	in := vendorreview.InputFromRun(ob.Run(), v.ID, *cycle, ob.Vendors.MonthsByCriticality[v.Criticality])
	in.ReviewerID = *reviewer
	if err := vendorreview.Validate(ctx, db, in); err != nil {
		if reason, ok := refusal.Reason(err); ok {
			return usagef("%s", reason)
		}
		return err
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	id, already, err := vendorreview.Start(ctx, c, env.TaskQueue(), in)
	if err != nil {
		return fmt.Errorf("start vendor review: %w", err)
	}
	if already {
		return usagef("%s was already started; a cycle runs once (give another --cycle for a new one)", id)
	}
	fmt.Fprintf(env.Stderr, "asked %s (%s) for its report; due in %s\n", v.Name, v.ContactEmail, period.Format(in.DuePeriod))
	fmt.Fprintln(env.Stdout, id)
	return nil
}

// vendorObligation is the vendor-review obligation of the program in force.
func vendorObligation(ctx context.Context, db *sqlx.DB) (program.Obligation, error) {
	return obligationOf(ctx, db, vendorreview.Process, "which sets its due period and cadence")
}

// obligationOf is the program in force's obligation of process; why says
// what the obligation gives a command that cannot do without it.
func obligationOf(ctx context.Context, db *sqlx.DB, process, why string) (program.Obligation, error) {
	var v struct {
		File    string `db:"file"`
		Content string `db:"content"`
	}
	err := db.GetContext(ctx, &v, `SELECT file, content FROM program_versions ORDER BY id DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return program.Obligation{}, usagef("no program is applied (starter program apply FILE)")
	}
	if err != nil {
		return program.Obligation{}, fmt.Errorf("read the program in force: %w", err)
	}
	p, err := program.Parse(v.File, []byte(v.Content), program.Options{})
	if err != nil {
		return program.Obligation{}, fmt.Errorf("the program in force no longer parses: %w", err)
	}
	for _, o := range p.Obligations {
		if o.Process == process {
			return o, nil
		}
	}
	return program.Obligation{}, usagef("the program in force (%s) has no %s obligation, %s", v.File, process, why)
}
