package offboarding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/refusal"
)

// Validate answers, as a refusal, why in could not start: a last day that
// is not a date, a person not in the directory, or a starter who is not up
// the person's management chain, a security officer or the HR feed. Any
// other error is an outage. The workflow's first activity checks the same.
func Validate(ctx context.Context, db sqlx.QueryerContext, in Input) error {
	if _, err := time.Parse(time.DateOnly, in.LastDay); err != nil {
		return refusal.New("last day %q is not a date such as 2026-12-18", in.LastDay)
	}
	return act.Authorize(ctx, db, in.PersonID, in.StartedBy)
}

// Start starts the person's offboarding on the task queue and answers its
// ID. One runs at a time per person: while one runs, a second start is
// refused naming it; after one closed (a rehire who leaves again), a new
// run may start under the same ID.
func Start(ctx context.Context, c client.Client, queue string, in Input) (string, error) {
	id := ID(in.PersonID)
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue, WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return id, refusal.New("offboarding %s is already running (run %s): one offboarding per person at a time "+
			"(`starter records offboarding --person %s`, or cancel it with `starter offboard cancel`)", id, started.RunId, in.PersonID)
	}
	return id, err
}

// Cancel asks the person's running offboarding to stop, and answers its
// status once the cancellation is recorded; a refusal says why not.
func Cancel(ctx context.Context, c client.Client, personID string, req CancelRequest) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: ID(personID), UpdateName: UpdateCancel, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st Status
	if err == nil {
		err = h.Get(ctx, &st)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return Status{}, refusal.New("no offboarding of %s is running", personID)
	}
	return st, err
}

// ErrCallbackLink is a callback URL whose token does not verify: tampered,
// expired, or not a callback link. The portal answers 403 and records nothing.
var ErrCallbackLink = errors.New("callback link does not verify")

// Callback is the JSON a system POSTs to its callback URL.
type Callback struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// DeliverCallback verifies the callback URL's token and hands the system's
// answer (body) to its offboarding. A token that does not verify is
// ErrCallbackLink; a body that is not a Callback, or an answer the
// offboarding does not wait for, is a refusal.
func DeliverCallback(ctx context.Context, c client.Client, signer *links.Signer, token string, body []byte) error {
	claims, err := signer.Verify(token)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCallbackLink, err)
	}
	workflowID, systemID, ok := act.ParseCallbackSubject(claims)
	if !ok {
		return ErrCallbackLink
	}
	var cb Callback
	if err := json.Unmarshal(body, &cb); err != nil || strings.TrimSpace(cb.Status) == "" {
		return refusal.New(`the callback body must be JSON such as {"status":"removed"}`)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: UpdateConnectorCallback, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{CallbackRequest{SystemID: systemID, Status: strings.TrimSpace(cb.Status), Reason: cb.Reason, BodySHA256: act.Digest(body)}},
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return refusal.New("offboarding %s is not running", workflowID)
	}
	return err
}
