// Command starter is complyflow's operator CLI: migrations, directory imports,
// the program file and schedules, and starting and inspecting processes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
)

// command is one `starter` subcommand. run gets the arguments after its name
// (and after a sub-subcommand for grouped commands such as `import people`).
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands is every subcommand; each file of this package adds its own.
var commands = map[string]command{}

// usageError is bad input from the person at the terminal: printed as one
// line, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(runMain(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// runMain is main without the process: tests call it with their own writers.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "starter: unknown command %q (run `starter -h` for the list)\n", args[0])
		return 2
	}
	env := &Env{Stdout: stdout, Stderr: stderr}
	defer env.Close()
	err := cmd.run(ctx, env, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "starter %s: %s\n", args[0], oneLine(err.Error()))
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: starter <command> [flags]   (starter <command> -h for its flags)")
	for _, n := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
}

// oneLine keeps an error to the single line the CLI contract promises, unless
// it is a list of reasons (one per line), which is printed whole.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if strings.Count(s, "\n") > 0 && !strings.Contains(s, ": ") {
		return strings.ReplaceAll(s, "\n", "; ")
	}
	return s
}

// newFlags makes a subcommand's flag set that prints its usage to env.Stderr.
func newFlags(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("starter "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: starter %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}
