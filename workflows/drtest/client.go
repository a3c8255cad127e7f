package drtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	act "github.com/complyflow/complyflow/activities/drtest"
	"github.com/complyflow/complyflow/internal/refusal"
)

// Validate answers why a DR test could not start, as a refusal: no DR plan,
// a coordinator or plan owner not in the workforce, an unknown scenario.
// Any other error is an outage. The workflow's first activity checks the
// plan again.
func Validate(ctx context.Context, db sqlx.QueryerContext, in Input) error {
	if in.Scenario != "" && !slices.Contains(Scenarios, in.Scenario) {
		return refusal.New("scenario %q is not one of %s", in.Scenario, strings.Join(Scenarios, ", "))
	}
	return act.CheckPlan(ctx, db, in.DR)
}

// Start starts the DR test on the task queue under id, refusing a second
// run of it (also after one ended); already reports that one had started.
func Start(ctx context.Context, c client.Client, queue, id string, in Input) (already bool, err error) {
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue, WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("start DR test %s: %w", id, err)
	}
	return false, nil
}
