package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	dract "github.com/complyflow/complyflow/activities/drtest"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows/drtest"
)

func init() {
	commands["dr-test"] = command{"dr-test start [--scenario NAME]: start a DR/BCP test now (its coordinator plans it)", runDRTest}
	recordKinds["backup-restore-tests"] = command{"backup-restore-tests [--json]: each random backup-restore test (the candidates, the system picked, what was restored, where, how long, integrity, outcome, follow-up)", runRecordsRestoreTests}
	recordKinds["dr-tests"] = command{"dr-tests [--json]: each DR/BCP test (scenario, date, each system's RTO/RPO against its target, pass/fail, findings to closure)", runRecordsDRTests}
}

func runDRTest(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "dr-test", []subcommand{{"start", runDRTestStart}}, args)
}

// runDRTestStart starts a DR test with the program in force's dr-test
// obligation (its DR plan, due period, reminders, controls) and prints its
// workflow ID as its last line. One test a day: a second start is refused.
func runDRTestStart(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "dr-test start", "dr-test start [--scenario NAME]")
	scenario := fs.String("scenario", "", "the scenario proposed to the coordinator: "+strings.Join(drtest.Scenarios, ", "))
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
	ob, err := obligationOf(ctx, db, drtest.Process, "its DR plan")
	if err != nil {
		return err
	}
	in := drtest.Input{ScheduledRun: ob.Run(), Scenario: *scenario}
	if err := drtest.Validate(ctx, db, in); err != nil {
		if reason, ok := refusal.Reason(err); ok {
			return usagef("%s", reason)
		}
		return err
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	id := drtest.ID(time.Now())
	already, err := drtest.Start(ctx, c, env.TaskQueue(), id, in)
	if err != nil {
		return err
	}
	if already {
		return usagef("%s was already started today", id)
	}
	fmt.Fprintf(env.Stderr, "asked %s to plan the DR/BCP test\n", in.DR.CoordinatorID)
	fmt.Fprintln(env.Stdout, id)
	return nil
}

func runRecordsDRTests(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records dr-tests", "records dr-tests [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
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
	rs, err := dract.Records(ctx, db)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, rs)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TEST\tSTATE\tSCENARIO\tDATE\tRESULT\tSYSTEM\tRTO (TARGET)\tRPO (TARGET)\tINTEGRITY")
	for _, r := range rs {
		date, result := "-", "-"
		if r.ExerciseDate != nil {
			date = r.ExerciseDate.Format(time.DateOnly)
		}
		if r.Passed != nil {
			result = map[bool]string{true: "pass", false: "fail"}[*r.Passed]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\t\t\t\n", r.ID, r.Status, orDash(r.Scenario), date, result)
		for _, s := range r.Systems {
			fmt.Fprintf(tw, "\t\t\t\t\t%s\t%s (%s) %s\t%s (%s) %s\t%t\n", s.SystemID,
				seconds(s.RTOAchieved), seconds(s.RTOTarget), met(s.RTOMet), seconds(s.RPOAchieved), seconds(s.RPOTarget), met(s.RPOMet), s.Integrity)
		}
		for _, f := range r.Findings {
			state := "OPEN"
			if f.ClosedAt != nil {
				state = "closed " + stamp(f.ClosedAt)
			}
			fmt.Fprintf(tw, "\t%s %d\t%s\towner %s, due %s\t%s\t\t\t\t\n", f.Kind, f.N, f.Title, f.OwnerID, f.Due.Format(time.DateOnly), state)
		}
	}
	return tw.Flush()
}

func seconds(n int64) string { return (time.Duration(n) * time.Second).String() }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func runRecordsRestoreTests(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "records backup-restore-tests", "records backup-restore-tests [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
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
	rs, err := dract.RestoreRecords(ctx, db)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, rs)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TEST\tSYSTEM (OF)\tBY\tRESTORED\tINTO\tTOOK\tINTEGRITY\tRESULT\tCLOSED")
	for _, r := range rs {
		took, integrity, result := "-", "-", "-"
		if r.Seconds != nil {
			took = seconds(*r.Seconds)
		}
		if r.IntegrityChecked != nil {
			integrity = fmt.Sprint(*r.IntegrityChecked)
		}
		if r.Passed != nil {
			result = map[bool]string{true: "pass", false: "fail, follow-up " + r.FollowUpTask}[*r.Passed]
		}
		fmt.Fprintf(tw, "%s\t%s (%d)\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.SystemID, len(r.Candidates), r.AssigneeID,
			orDash(r.RestoredWhat), orDash(r.RestoredWhere), took, integrity, result, stamp(r.ClosedAt))
	}
	return tw.Flush()
}
