package policyexception

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// RequestID names the exception request in from what it asks, not when:
// the same policy, purpose, reason, expiry and requester give the same ID,
// so a repeated submission finds the exception already started instead of
// opening a second one. The suffix is the first 16 hex digits of the SHA-256
// of the fields as a JSON array (the expiry in UTC, RFC 3339).
func RequestID(in Input) string {
	canon, err := json.Marshal([]string{"policy-exception/v1", in.PolicyID, in.Purpose, in.Reason,
		in.Expires.UTC().Format(time.RFC3339Nano), in.RequesterID})
	if err != nil {
		panic(err) // strings always marshal
	}
	sum := sha256.Sum256(canon)
	return ID(in.PolicyID, hex.EncodeToString(sum[:8]))
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
