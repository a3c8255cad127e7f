package riskassessment

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/complyflow/complyflow/workflows"
)

// Start starts an assessment by hand under ID(name), refusing a second run
// of it (also after one ended); already reports that one had started. The
// run is the program's obligation's, as its schedule would hand it.
func Start(ctx context.Context, c client.Client, queue, name string, run workflows.ScheduledRun) (id string, already bool, err error) {
	id = ID(name)
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue, WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, WorkflowName, run)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return id, true, nil
	}
	return id, false, err
}
