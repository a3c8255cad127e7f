package policytest

import (
	"fmt"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	changeact "github.com/complyflow/complyflow/activities/policychange"
	exceptionact "github.com/complyflow/complyflow/activities/policyexception"

	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/workflows/campaign"
	"github.com/complyflow/complyflow/workflows/humantask"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// LiveTasks runs the policy workflows with the real HumanTask in place of
// the harness's scripted one, its activities on the harness's database and
// mailbox, so escalations are resolved from the directory when they fire
// and people answer through UpdateComplete as the portal would.
func LiveTasks(h *Harness, start time.Time) {
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("role-escalation-test-key-0123")}})
	if err != nil {
		h.T.Fatal(err)
	}
	h.Env = h.NewTestWorkflowEnvironment()
	h.Env.SetStartTime(start)
	h.Env.RegisterWorkflowWithOptions(humantask.Workflow, workflow.RegisterOptions{Name: humantask.WorkflowName})
	h.Env.RegisterWorkflowWithOptions(h.FakeCampaign, workflow.RegisterOptions{Name: campaign.WorkflowName})
	h.Env.RegisterActivity(&campaignact.Activities{DB: h.DB.App})
	h.Register(h.Env)
	h.Env.RegisterActivity(&changeact.Activities{DB: h.DB.App})
	h.Env.RegisterActivity(&exceptionact.Activities{DB: h.DB.App})
	h.Env.RegisterActivity(&notify.Messages{DB: h.DB.App, Mailer: h.Mailer})
	h.Env.RegisterActivity(&changeact.Announcer{DB: h.DB.App, Pool: notify.NewPool(h.Mailer, 2), Channel: "#security-policies"})
	h.Env.RegisterActivity(&taskact.Tasks{DB: h.DB.App})
	h.Env.RegisterActivity(&taskact.Notifier{DB: h.DB.App, Mailer: h.Mailer, Links: signer,
		BaseURL: "https://comply.example.com", LinkTTL: 30 * Day})
}

// ActAt has person answer the task after d; got collects who was refused
// and who completed it.
func ActAt(h *Harness, d time.Duration, taskID, person string, action humantask.Action, got *[]string) {
	h.Env.RegisterDelayedCallback(func() {
		err := h.Env.UpdateWorkflowByID(taskID, humantask.UpdateComplete, fmt.Sprint("u", d, person), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(error) { *got = append(*got, person+" refused") },
			OnComplete: func(_ any, err error) {
				if err == nil {
					*got = append(*got, person+" completed")
				}
			},
		}, humantask.CompleteRequest{Action: action, PersonID: person, Note: "checked"})
		if err != nil {
			h.T.Errorf("update %s by %s: %v", taskID, person, err)
		}
	}, d)
}

// EscalatedTo is who the task's escalation step reached, as recorded.
func EscalatedTo(h *Harness, taskID string, step int) []string {
	h.T.Helper()
	var people []string
	if err := h.DB.Owner.Select(&people, `SELECT jsonb_array_elements_text(detail->'people') FROM task_events
		WHERE task_id = $1 AND event_key = $2`, taskID, fmt.Sprintf("escalated/%d", step)); err != nil {
		h.T.Fatal(err)
	}
	return people
}

// Told is everyone a notification about the task went to, in order.
func Told(h *Harness, taskID string) []string {
	h.T.Helper()
	var people []string
	if err := h.DB.Owner.Select(&people, `SELECT DISTINCT recipient_id FROM notifications WHERE task_id = $1 ORDER BY 1`, taskID); err != nil {
		h.T.Fatal(err)
	}
	return people
}
