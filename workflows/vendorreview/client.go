package vendorreview

import (
	"context"
	"errors"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	act "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
)

// Validate answers why a cycle could not start, as a refusal: an unknown
// vendor, an owner or reviewer not in the workforce, no cadence. Any other
// error is an outage. The workflow's first activity checks the same again.
func Validate(ctx context.Context, db sqlx.QueryerContext, in Input) error {
	if in.Cycle == "" || in.DuePeriod <= 0 || in.CadenceMonths <= 0 || in.RequestBeforeDays < 0 {
		return refusal.New("a vendor review needs a cycle, a due period and a cadence (the program file's vendor-review obligation)")
	}
	v, err := act.LookupVendor(ctx, db, in.VendorID)
	if err != nil {
		return err
	}
	reviewer := in.ReviewerID
	if reviewer == "" {
		reviewer = v.OwnerID
	}
	return directory.CheckActive(ctx, db, reviewer)
}

// Start starts the cycle on the task queue under its ID, refusing a second
// run of it (also after one ended); already reports that one had started.
func Start(ctx context.Context, c client.Client, queue string, in Input) (id string, already bool, err error) {
	id = ID(in.VendorID, in.Cycle)
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue, WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return id, true, nil
	}
	return id, false, err
}

// Query answers a running (or closed) cycle's status.
func Query(ctx context.Context, c client.Client, id string) (Status, error) {
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return Status{}, err
	}
	var st Status
	return st, v.Get(&st)
}

// Upload tells the cycle its report was stored and waits for it to be
// recorded; a refusal by its validator comes back as the update's error.
func Upload(ctx context.Context, c client.Client, id string, req UploadRequest) (UploadResult, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: UpdateUpload, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res UploadResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	return res, err
}
