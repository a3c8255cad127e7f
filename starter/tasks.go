package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/workflows/humantask"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/workflows"
)

func init() {
	commands["tasks"] = command{"list open human tasks; `tasks complete ID` and `tasks assign` act on them", runTasks}
}

func runTasks(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "complete":
			return runTasksComplete(ctx, env, args[1:])
		case "assign":
			return runTasksAssign(ctx, env, args[1:])
		}
	}
	fs := newFlags(env, "tasks", "tasks [complete ID --action A --as PERSON [--note N] | assign --to PERSON --subject S ...]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unknown tasks subcommand %q (complete, assign, or none to list)", fs.Arg(0))
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	open, err := taskact.OpenTasks(ctx, db)
	if err != nil {
		return err
	}
	if len(open) == 0 {
		fmt.Fprintln(env.Stdout, "no open tasks")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tASSIGNEE\tDUE\t\tSUBJECT")
	now := time.Now()
	for _, t := range open {
		mark := ""
		if now.After(t.Due) {
			mark = "OVERDUE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.AssigneeID, t.Due.UTC().Format("2006-01-02 15:04Z"), mark, t.Subject)
	}
	return tw.Flush()
}

func runTasksComplete(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "tasks complete", "tasks complete ID --action ACTION --as PERSON [--note TEXT]")
	action := fs.String("action", "", "the action: done, approve, reject or acknowledge (reject needs --note)")
	as := fs.String("as", "", "the person acting (the assignee or someone the task was escalated to)")
	note := fs.String("note", "", "a note kept with the outcome")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("expected one task ID, got %d", len(rest))
	}
	if *action == "" || *as == "" {
		return usagef("--action and --as are required")
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: rest[0], UpdateName: humantask.UpdateComplete, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{humantask.CompleteRequest{Action: humantask.Action(*action), PersonID: *as, Note: *note, ActedBy: onBehalfOf(*as)}},
	})
	var out humantask.Outcome
	if err == nil {
		err = h.Get(ctx, &out)
	}
	var notFound *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &notFound):
		return fmt.Errorf("task %s is not running (unknown, or already closed: see `starter tasks`)", rest[0])
	case errors.As(err, &appErr):
		return fmt.Errorf("task %s: %s", rest[0], appErr.Message())
	case err != nil:
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %s by %s at %s\n", out.TaskID, out.Action, out.By, out.At.UTC().Format(time.RFC3339))
	return nil
}

func runTasksAssign(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "tasks assign", "tasks assign --to PERSON --subject TEXT [--body MARKDOWN] [--due 72h] [--actions done] [--control ID]... [--id TASK_ID]")
	to := fs.String("to", "", "the assignee's person ID")
	subject := fs.String("subject", "", "what the task is")
	body := fs.String("body", "", "details, in Markdown")
	due := fs.Duration("due", 72*time.Hour, "time from now until the task is due")
	actionList := fs.String("actions", "done", "comma-separated actions offered: done, approve, reject, acknowledge")
	var controls controlList
	fs.Var(&controls, "control", "a control this task evidences; repeat it, or separate IDs by commas, for several")
	remind := fs.Duration("remind", 24*time.Hour, "reminder cadence (0: none)")
	escalate := fs.Duration("escalate-officer-after", 72*time.Hour, "after the due time, the manager is asked at once and the security officers after this long")
	id := fs.String("id", "", "the task ID (default task/manual/PERSON/SUBJECT-SLUG)")
	existingOK := fs.Bool("existing-ok", false, "a task that already exists under the ID is reported and left as it is (exit 0), for scripts that load data more than once")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *to == "" || strings.TrimSpace(*subject) == "" {
		return usagef("--to and --subject are required")
	}
	if *due <= 0 || *remind < 0 || *escalate < 0 {
		return usagef("--due must be positive; --remind and --escalate-officer-after may not be negative")
	}
	var actions []humantask.Action
	for _, a := range strings.Split(*actionList, ",") {
		switch act := humantask.Action(strings.TrimSpace(a)); act {
		case humantask.ActionDone, humantask.ActionApprove, humantask.ActionReject, humantask.ActionAcknowledge:
			actions = append(actions, act)
		default:
			return usagef("--actions: %q is not one of done, approve, reject, acknowledge", a)
		}
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	taskID := *id
	if taskID == "" {
		if taskID, err = manualTaskID(ctx, db, *to, *subject); err != nil {
			return err
		}
	}
	if _, err := directory.LookupPerson(ctx, db, *to); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return usagef("--to: %s", appErr.Message())
		}
		return err
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	in := humantask.Input{
		TaskID: taskID, AssigneeID: *to, Subject: strings.TrimSpace(*subject), Body: *body,
		Due: time.Now().Add(*due).Truncate(time.Second), RemindEvery: *remind, Actions: actions, ControlIDs: controls,
		Escalation: []workflows.EscalationStep{
			{After: 0, To: workflows.EscalateToManager},
			{After: *escalate, To: "role:security_officer"},
		},
	}
	// A task ID is used once: its record in Postgres belongs to one run.
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: taskID, TaskQueue: env.TaskQueue(),
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, humantask.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		if *existingOK {
			fmt.Fprintf(env.Stderr, "task %s already exists in Temporal; nothing started\n", taskID)
			fmt.Fprintln(env.Stdout, taskID)
			return nil
		}
		return fmt.Errorf("task %s already exists; give another --subject or an --id", taskID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, taskID)
	return nil
}

// manualTaskID is task/manual/PERSON/SLUG, numbered /2, /3... once earlier
// tasks of that name are closed, so the same chore can be assigned again
// while a duplicate of an open one is refused.
func manualTaskID(ctx context.Context, db *sqlx.DB, person, subject string) (string, error) {
	base := "task/manual/" + person + "/" + slug(subject)
	for n := 1; ; n++ {
		id := base
		if n > 1 {
			id = fmt.Sprintf("%s/%d", base, n)
		}
		t, found, err := taskact.LoadTask(ctx, db, id)
		if err != nil {
			return "", err
		}
		if !found {
			return id, nil
		}
		if t.Status == "open" {
			return "", fmt.Errorf("task %s is already open for %s; complete it first or give an --id", id, person)
		}
	}
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	s = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 48 {
		// Cut at a word boundary when there is one in reach.
		cut := s[:48]
		if i := strings.LastIndex(cut, "-"); i > 24 {
			cut = cut[:i]
		}
		s = strings.TrimRight(cut, "-")
	}
	if s == "" {
		return "task"
	}
	return s
}

// controlList is --control given any number of times, each value one ID or
// several separated by commas; blanks and repeats are dropped.
type controlList []string

func (l *controlList) String() string { return strings.Join(*l, ",") }

func (l *controlList) Set(v string) error {
	for _, id := range strings.Split(v, ",") {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(*l, id) {
			*l = append(*l, id)
		}
	}
	return nil
}
