package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
)

// subcommand is one verb of a grouped command such as `program check`.
type subcommand struct {
	name string
	run  func(ctx context.Context, env *Env, args []string) error
}

// dispatch runs the named subcommand of group. `-h` prints every
// subcommand's usage and flags.
func dispatch(ctx context.Context, env *Env, group string, subs []subcommand, args []string) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	if len(args) == 0 {
		return usagef("expected a subcommand: %s %s", group, strings.Join(names, "|"))
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		for _, s := range subs {
			if err := s.run(ctx, env, []string{"-h"}); err != nil && !errors.Is(err, flag.ErrHelp) {
				return err
			}
			fmt.Fprintln(env.Stderr)
		}
		return flag.ErrHelp
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, env, args[1:])
		}
	}
	return usagef("unknown %s subcommand %q (%s)", group, args[0], strings.Join(names, ", "))
}
