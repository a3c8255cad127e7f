package main

import (
	"context"
	"fmt"
	"time"

	"github.com/complyflow/complyflow/internal/period"
	"github.com/complyflow/complyflow/workflows/riskassessment"
)

func init() {
	commands["risk-assessment"] = command{"risk-assessment start [--name NAME]: start the annual risk assessment now", runRiskAssessment}
}

func runRiskAssessment(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "risk-assessment", []subcommand{{"start", runRiskAssessmentStart}}, args)
}

// runRiskAssessmentStart starts the assessment with the program in force's
// annual-risk-assessment obligation (due period, reminders, escalation,
// controls, risk tolerance), as its schedule would, and prints its
// workflow ID as its last line. One already started under the name is
// refused.
func runRiskAssessmentStart(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "risk-assessment start", "risk-assessment start [--name NAME]")
	name := fs.String("name", time.Now().UTC().Format("2006"), "the assessment's name, part of its ID")
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
	ob, err := obligationOf(ctx, db, riskassessment.Process, "its due period and risk_tolerance")
	if err != nil {
		return err
	}
	var risks int
	if err := db.GetContext(ctx, &risks, `SELECT count(*) FROM risks`); err != nil {
		return fmt.Errorf("count the register: %w", err)
	}
	if risks == 0 {
		return usagef("the risk register is empty: import it first (starter import risks FILE.csv)")
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	id, already, err := riskassessment.Start(ctx, c, env.TaskQueue(), *name, ob.Run())
	if err != nil {
		return fmt.Errorf("start the risk assessment: %w", err)
	}
	if already {
		return usagef("%s was already started; an assessment runs once (give another --name for a new one)", id)
	}
	fmt.Fprintf(env.Stderr, "asked the owners of %d risks to re-score them; due in %s\n", risks, period.Format(ob.Due))
	fmt.Fprintln(env.Stdout, id)
	return nil
}
