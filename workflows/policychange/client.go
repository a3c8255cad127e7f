package policychange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	act "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/policy"
	"github.com/complyflow/complyflow/workflows"
)

// Validate answers why a request could not be opened, as a refusal
// (refusal.Reason reads it): an unknown or deprecated policy, an unknown
// kind, no summary, a requester who is not in the workforce, or nobody but
// the requester to review or approve it. Any other error is an outage. The
// portal and `starter change-request` both call it before they save or
// start anything; the workflow's first activity checks the same again.
func Validate(ctx context.Context, db sqlx.QueryerContext, in Input) error {
	kind, err := policy.ParseKind(in.Kind)
	if err != nil {
		return refusal.New("%v", err)
	}
	if strings.TrimSpace(in.Summary) == "" {
		return refusal.New("a change request needs a summary: it is what everyone is told once it is published")
	}
	if err := directory.CheckActive(ctx, db, in.RequesterID); err != nil {
		return err
	}
	return act.CheckChangeApprovers(ctx, db, in.PolicyID, in.RequesterID, kind)
}

// RequestID names the request in from what it asks, not when: the same
// policy, kind, summary, text, reference, production-change flag and
// requester give the same ID, so a submission repeated (a double click, a
// command run twice) finds the request already started instead of opening a
// second one. The suffix is the first 16 hex digits of the SHA-256 of the
// fields as a JSON array, which cannot be confused by field boundaries.
func RequestID(in Input) string {
	canon, err := json.Marshal([]string{"policy-change-request/v1", in.PolicyID, in.Kind, in.Summary, in.Text, in.Reference,
		strconv.FormatBool(in.NeedsProductionChange), in.RequesterID})
	if err != nil {
		panic(err) // strings always marshal
	}
	sum := sha256.Sum256(canon)
	return ID(in.PolicyID, hex.EncodeToString(sum[:8]))
}

// Start starts the request under id on the task queue. A second start under the same ID is
// refused even after the first run has closed, so a repeated submission
// never opens a second request; already reports that one had started.
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

// Query asks a running request for its status.
func Query(ctx context.Context, c client.Client, id string) (Status, error) {
	var st Status
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// ValidateRoles refuses a request nobody could open, whoever asks: an
// unknown or deprecated policy, or a role the request needs that nobody
// holds. The portal's form checks only this, so it answers the same for
// every person ID; Validate at confirmation checks the rest.
func ValidateRoles(ctx context.Context, db sqlx.QueryerContext, policyID, kind string) error {
	k, err := policy.ParseKind(kind)
	if err != nil {
		return refusal.New("%v", err)
	}
	return act.CheckChangeApprovers(ctx, db, policyID, "", k)
}
