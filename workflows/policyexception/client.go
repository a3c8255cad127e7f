package policyexception

import (
	"context"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	act "github.com/complyflow/complyflow/activities/policyexception"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/policy"
)

// Validate answers why an exception could not be requested, as a refusal:
// no documented purpose or reason, a term over a year, an unknown or
// deprecated policy, a requester not in the workforce, or a role the
// approval needs that only the requester holds. Any other error is an
// outage. The workflow's first activity checks the same again.
func Validate(ctx context.Context, db sqlx.QueryerContext, in Input, now time.Time) error {
	if err := act.ValidateException(act.OpenExceptionInput{Purpose: in.Purpose, Reason: in.Reason, Expires: in.Expires, At: now}); err != nil {
		return refusal.New("%v", err)
	}
	if _, err := policy.LoadActive(ctx, db, in.PolicyID); err != nil {
		return err
	}
	if err := directory.CheckActive(ctx, db, in.RequesterID); err != nil {
		return err
	}
	_, _, err := act.ExceptionDeciders(ctx, db, in.RequesterID)
	return err
}

// Start starts the exception under id on the task queue, refusing a second run under the same
// ID; already reports that one had started.
func Start(ctx context.Context, c client.Client, queue, id string, in Input) (already bool, err error) {
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue, WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return true, nil
	}
	return false, err
}
