package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/activities"
	"github.com/complyflow/complyflow/workflows"
)

func init() {
	commands["exception"] = command{"exception --policy ID --purpose TEXT --reason TEXT --expires YYYY-MM-DD --as PERSON: request a policy exception; `exception status ID`", runException}
}

func runException(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "status" {
		return runExceptionStatus(ctx, env, args[1:])
	}
	fs := newFlags(env, "exception",
		"exception --policy ID --purpose TEXT --reason TEXT --expires YYYY-MM-DD --as PERSON\n       starter exception status ID")
	policyID := fs.String("policy", "", "the policy the exception is to")
	purpose := fs.String("purpose", "", "the business purpose of the exception")
	reason := fs.String("reason", "", "why the policy requirement cannot be met")
	expires := fs.String("expires", "", "when it expires (YYYY-MM-DD, at 00:00 UTC), at most one year after approval")
	as := fs.String("as", "", "the requester's person ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *policyID == "" || *as == "" || *expires == "" {
		return usagef("--policy, --expires and --as are required")
	}
	until, err := time.Parse(time.DateOnly, *expires)
	if err != nil {
		return usagef("--expires: %q is not a date such as 2026-03-31", *expires)
	}
	in := workflows.PolicyExceptionInput{PolicyID: *policyID, RequesterID: *as, Purpose: *purpose, Reason: *reason, Expires: until}
	if err := activities.ValidateException(activities.OpenExceptionInput{
		Purpose: in.Purpose, Reason: in.Reason, Expires: in.Expires, At: time.Now(),
	}); err != nil {
		return usagef("%v", err)
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	if _, err := checkPolicyAndPerson(ctx, db, *policyID, *as); err != nil {
		return err
	}
	// Refused here rather than by a workflow that fails at once: a role only
	// the requester holds leaves nobody to approve the exception.
	if _, _, err := activities.ExceptionDeciders(ctx, db, *as); err != nil {
		if appErr := (*temporal.ApplicationError)(nil); errors.As(err, &appErr) {
			return usagef("%s", appErr.Message())
		}
		return err
	}
	c, err := env.Temporal()
	if err != nil {
		return err
	}
	id := workflows.PolicyExceptionID(*policyID, time.Now().UTC().Format("20060102-150405.000"))
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.PolicyExceptionWorkflow, in); err != nil {
		return fmt.Errorf("start exception: %w", err)
	}
	fmt.Fprintln(env.Stdout, id)
	return nil
}

func runExceptionStatus(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "exception status", "exception status ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("expected one exception ID")
	}
	var st workflows.PolicyExceptionStatus
	if err := queryStatus(ctx, env, fs.Arg(0), &st); err != nil {
		return err
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s: %s (round %d)\n", st.ExceptionID, st.Stage, st.Round)
	fmt.Fprintf(w, "policy:   %s\n", st.PolicyID)
	if !st.ApprovedAt.IsZero() {
		fmt.Fprintf(w, "term:     approved %s, expires %s\n", st.ApprovedAt.UTC().Format(time.RFC3339), st.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if st.Reminders > 0 {
		fmt.Fprintf(w, "reminders sent: %d\n", st.Reminders)
	}
	printDecisions(w, st.Decisions)
	return nil
}
