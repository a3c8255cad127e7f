package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows/offboarding"
)

func init() {
	commands["offboard"] = command{"offboard --person P --last-day YYYY-MM-DD --as M [--reason TEXT]: remove P's access everywhere; `offboard cancel`", runOffboard}
}

func runOffboard(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "cancel" {
		return runOffboardCancel(ctx, env, args[1:])
	}
	fs := newFlags(env, "offboard", "offboard --person P --last-day YYYY-MM-DD --as M [--reason TEXT]\n       starter offboard cancel --person P --as M --reason TEXT")
	person := fs.String("person", "", "the person leaving")
	lastDay := fs.String("last-day", "", "their last day (YYYY-MM-DD); access goes after its end, 00:00 UTC the day after")
	as := fs.String("as", "", "who starts it: a manager up the person's chain or a security officer")
	reason := fs.String("reason", "", "why (recorded)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *person == "" || *lastDay == "" || *as == "" {
		return usagef("--person, --last-day and --as are required")
	}
	in := offboarding.Input{PersonID: *person, LastDay: *lastDay, StartedBy: *as, ActedBy: onBehalfOf(*as), Reason: *reason}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if err := offboarding.Validate(ctx, db, in); err != nil {
		if reason, ok := refusal.Reason(err); ok {
			return usagef("%s", reason)
		}
		return err
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	id, err := offboarding.Start(ctx, c, env.TaskQueue(), in)
	if reason, ok := refusal.Reason(err); ok {
		return usagef("%s", reason)
	}
	if err != nil {
		return fmt.Errorf("start offboarding: %w", err)
	}
	fmt.Fprintln(env.Stdout, id)
	return nil
}

func runOffboardCancel(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "offboard cancel", "offboard cancel --person P --as M --reason TEXT")
	person := fs.String("person", "", "the person whose offboarding to cancel")
	as := fs.String("as", "", "who cancels: a manager up the person's chain or a security officer")
	reason := fs.String("reason", "", "why (rehire, mistake, ...); required")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *person == "" || *as == "" || *reason == "" {
		return usagef("--person, --as and --reason are required")
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	st, err := offboarding.Cancel(ctx, c, *person, offboarding.CancelRequest{By: *as, Reason: *reason, ActedBy: onBehalfOf(*as)})
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) { // a refusal, or the validator's answer
		return usagef("%s", appErr.Message())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s cancelled by %s: %s\n", st.OffboardingID, st.CancelledBy, st.CancelReason)
	return nil
}

// startLeavers starts the offboarding of each person an import newly gave
// an end date (the HR feed), after the import committed; one already
// running is left as it is. A start that fails is reported with the
// command that starts it by hand: a re-import would not retry it, since the
// end date is no longer new.
func startLeavers(ctx context.Context, env *Env, leavers []directory.Leaver) error {
	if len(leavers) == 0 {
		return nil
	}
	c, err := env.Temporal()
	if err != nil {
		return fmt.Errorf("the import is done, but no offboarding was started for its %d leaver(s) (start each with "+
			"`starter offboard --person P --last-day D --as OFFICER`): %w", len(leavers), err)
	}
	var failed []string
	for _, l := range leavers {
		id, err := offboarding.Start(ctx, c, env.TaskQueue(), offboarding.Input{PersonID: l.PersonID, LastDay: l.LastDay,
			StartedBy: offboarding.HRFeed, Reason: "end date " + l.LastDay + " set by the people import"})
		if reason, ok := refusal.Reason(err); ok {
			fmt.Fprintf(env.Stderr, "offboarding %s not started: %s\n", id, reason)
			continue
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "offboarding %s not started: %v (start it with `starter offboard --person %s --last-day %s --as OFFICER`)\n",
				id, err, l.PersonID, l.LastDay)
			failed = append(failed, l.PersonID)
			continue
		}
		fmt.Fprintf(env.Stdout, "offboarding started: %s (last day %s)\n", id, l.LastDay)
	}
	if len(failed) > 0 {
		return fmt.Errorf("the import is done, but the offboarding of %s could not be started (see above)", strings.Join(failed, ", "))
	}
	return nil
}
