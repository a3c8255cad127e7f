package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/schedules"
)

func init() {
	commands["schedules"] = command{"schedules list|trigger ID|pause ID|unpause ID: inspect and operate Temporal Schedules", runSchedules}
}

func runSchedules(ctx context.Context, env *Env, args []string) error {
	action := func(name string) subcommand {
		return subcommand{name, func(ctx context.Context, env *Env, args []string) error {
			return runScheduleAction(ctx, env, name, args)
		}}
	}
	return dispatch(ctx, env, "schedules", []subcommand{{"list", runSchedulesList},
		action("trigger"), action("pause"), action("unpause")}, args)
}

func runSchedulesList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "schedules list", "schedules list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("schedules list takes no arguments")
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	all, err := schedules.List(ctx, c)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSPEC\tWORKFLOW\tPAUSED\tLAST RUN\tNEXT RUNS")
	for _, s := range all {
		paused := "no"
		if s.Paused {
			paused = "yes: " + s.Note
		}
		last := "never"
		if r := s.LastRun; r != nil {
			last = fmt.Sprintf("%s %s %s", r.At.In(s.Location).Format("2006-01-02 15:04 MST"), r.WorkflowID, r.Status)
		}
		var next []string
		for i, t := range s.Next {
			if i == 3 {
				break
			}
			next = append(next, t.In(s.Location).Format("2006-01-02 15:04 MST"))
		}
		id := s.ID
		if !s.Owned {
			id += " (not the program's)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id, s.Spec, s.Workflow, paused, last, strings.Join(next, ", "))
	}
	return tw.Flush()
}

func runScheduleAction(ctx context.Context, env *Env, action string, args []string) error {
	usage := "schedules " + action + " ID [--as PERSON]"
	if action != "trigger" {
		usage = "schedules " + action + " ID --note TEXT [--as PERSON]"
	}
	fs := newFlags(env, "schedules "+action, usage)
	note := fs.String("note", "", "why (required for pause and unpause; kept on the schedule and in the audit log)")
	as := fs.String("as", "", "the person acted for, recorded as cli:$USER on behalf of them (default: cli:$USER alone)")
	ids, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return usagef("expected one schedule ID, got %d", len(ids))
	}
	if action != "trigger" && strings.TrimSpace(*note) == "" {
		return usagef("%s needs --note saying why", action)
	}
	// An obligation paused or run out of turn is something an auditor asks
	// about, so the audit log must be writable before anything is done.
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	actor := *as
	if actor == "" {
		actor = cliActor()
	} else {
		var n int
		if err := db.GetContext(ctx, &n, `SELECT count(*) FROM people WHERE id = $1`, actor); err != nil {
			return err
		}
		if n == 0 {
			return usagef("--as %q: no such person", actor)
		}
		actor = onBehalfOf(actor)
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	id := ids[0]
	switch action {
	case "trigger":
		err = schedules.Trigger(ctx, c, id)
	case "pause":
		err = schedules.Pause(ctx, c, id, *note)
	case "unpause":
		err = schedules.Unpause(ctx, c, id, *note)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, id, err)
	}
	if err := audit.Write(ctx, db, audit.Entry{Actor: actor, Action: "schedule." + action, Subject: id,
		Detail: map[string]string{"note": *note}}); err != nil {
		return fmt.Errorf("%s %s done, but the audit entry failed: %w", action, id, err)
	}
	fmt.Fprintf(env.Stdout, "%s: %s\n", id, map[string]string{"trigger": "triggered", "pause": "paused", "unpause": "unpaused"}[action])
	return nil
}
