package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"time"

	"github.com/complyflow/complyflow/internal/period"
	"github.com/complyflow/complyflow/program"
	"github.com/complyflow/complyflow/schedules"
)

func init() {
	commands["program"] = command{"program check|apply FILE: validate the program file, or reconcile schedules and Postgres with it", runProgram}
}

func runProgram(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "program", []subcommand{{"check", runProgramCheck}, {"apply", runProgramApply}}, args)
}

func runProgramCheck(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "program check", "program check [--people people.csv] FILE")
	peopleCSV := fs.String("people", "", "check person IDs against this people CSV (column id) instead of the database")
	file, err := parseFileArg(fs, args)
	if err != nil {
		return err
	}
	var people map[string]bool
	source := *peopleCSV
	if source != "" {
		if people, err = readPeopleCSV(source); err != nil {
			return usagef("--people: %v", err)
		}
	} else if people, err = databasePeople(ctx, env); err != nil {
		// The file can still be checked on a laptop without the database.
		fmt.Fprintf(env.Stderr, "note: person IDs not checked (%v); give --people FILE.csv to check them\n", err)
	} else {
		source = "the database"
	}
	p, err := loadProgram(env, file, people)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: valid (sha256 %s): %d roles, %d policies, %d controls, %d obligations",
		file, p.Hash[:12], len(p.Roles), len(p.Policies), len(p.Controls), len(p.Obligations))
	if people != nil {
		fmt.Fprintf(env.Stdout, "; people checked against %s", source)
	}
	fmt.Fprintln(env.Stdout)
	now := time.Now()
	for _, o := range p.Obligations {
		fmt.Fprintf(env.Stdout, "%s: process %s, %s (%s), due within %s\n",
			o.ID, o.Process, o.Schedule.Cron, o.Schedule.TimeZone, period.Format(o.Due))
		for _, t := range o.Schedule.Next(now, 3) {
			fmt.Fprintf(env.Stdout, "  next %s\n", t.Format("Mon 2006-01-02 15:04 MST"))
		}
	}
	return nil
}

func runProgramApply(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "program apply", "program apply [--dry-run] [--as PERSON] FILE")
	dryRun := fs.Bool("dry-run", false, "print the plan and change nothing")
	as := fs.String("as", "", "the person the program is applied for, recorded as cli:$USER on behalf of them (default: cli:$USER alone)")
	file, err := parseFileArg(fs, args)
	if err != nil {
		return err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	unlock, err := program.LockApply(ctx, db)
	if err != nil {
		return err
	}
	defer unlock()
	people, err := program.People(ctx, db)
	if err != nil {
		return err
	}
	actor := *as
	switch {
	case actor == "":
		actor = cliActor()
	case !people[actor]:
		return usagef("--as %q: no such person", actor)
	default:
		actor = onBehalfOf(actor)
	}
	p, err := loadProgram(env, file, people)
	if err != nil {
		return err
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	last, err := program.Latest(ctx, db)
	if err != nil {
		return err
	}
	var previous []string
	if last != nil {
		for _, id := range last.ObligationIDs {
			previous = append(previous, schedules.ID(id))
		}
	}
	plan, err := schedules.Plan(ctx, c, schedules.FromProgram(p, env.TaskQueue()), previous)
	if err != nil {
		return err
	}

	fmt.Fprintf(env.Stdout, "program %s (sha256 %s)\n", file, p.Hash[:12])
	if last != nil && last.Hash == p.Hash && len(plan) == 0 {
		fmt.Fprintf(env.Stdout, "no changes: this program is in force as version %d, applied %s by %s\n",
			last.ID, last.AppliedAt.Format(time.RFC3339), last.AppliedBy)
		return nil
	}
	if len(plan) == 0 {
		fmt.Fprintln(env.Stdout, "plan: no schedule changes")
	} else {
		fmt.Fprintln(env.Stdout, "plan:")
		for _, ch := range plan {
			fmt.Fprintf(env.Stdout, "  %s\n", ch)
		}
	}
	if *dryRun {
		fmt.Fprintln(env.Stdout, "dry run: nothing applied")
		return nil
	}
	done, err := schedules.Apply(ctx, c, plan)
	if err != nil {
		// Not recorded as in force: applying again retries what failed.
		return fmt.Errorf("%d of %d schedule changes made, program not recorded: %w", len(done), len(plan), err)
	}
	if done == nil {
		done = []schedules.Change{}
	}
	id, err := program.Record(ctx, db, p, actor, done)
	if err != nil {
		return fmt.Errorf("schedules reconciled, but recording the program failed (apply again): %w", err)
	}
	counts := map[schedules.Kind]int{}
	for _, ch := range done {
		counts[ch.Kind]++
	}
	fmt.Fprintf(env.Stdout, "applied as version %d by %s: %d created, %d updated, %d deleted\n",
		id, actor, counts[schedules.Create], counts[schedules.Update], counts[schedules.Delete])
	return nil
}

// loadProgram validates a file, printing every problem on its own line.
func loadProgram(env *Env, file string, people map[string]bool) (*program.Program, error) {
	p, err := program.Load(file, program.Options{People: people})
	var problems program.Errors
	if errors.As(err, &problems) {
		for _, e := range problems {
			fmt.Fprintln(env.Stderr, e)
		}
		return nil, usagef("%s: %d problem(s), nothing applied", file, len(problems))
	}
	if err != nil {
		return nil, usagef("%v", err)
	}
	return p, nil
}

// parseFileArg parses flags given before or after the one FILE argument.
func parseFileArg(fs *flag.FlagSet, args []string) (string, error) {
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return "", err
	}
	if len(rest) != 1 {
		return "", usagef("expected one FILE argument, got %d", len(rest))
	}
	return rest[0], nil
}

// parseInterleaved lets flags follow positional arguments (`pause ID
// --note x`), which the flag package alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func databasePeople(ctx context.Context, env *Env) (map[string]bool, error) {
	db, err := env.DB(ctx)
	if err != nil {
		return nil, err
	}
	return program.People(ctx, db)
}

func readPeopleCSV(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := slices.Index(header, "id")
	if col < 0 {
		return nil, fmt.Errorf("%s: no id column", path)
	}
	people := map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return people, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		people[rec[col]] = true
	}
}

// cliActor names who ran a command without --as in the audit log: the
// operating-system user.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli:unknown"
}
