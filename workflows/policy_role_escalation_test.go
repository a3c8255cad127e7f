package workflows

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/activities"
	"github.com/complyflow/complyflow/internal/links"
)

// liveTasks runs the policy workflows with the real HumanTask in place of
// the harness's scripted one, its activities on the harness's database and
// mailbox, so escalations are resolved from the directory when they fire
// and people answer through UpdateComplete as the portal would.
func liveTasks(h *policyHarness, start time.Time) {
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("role-escalation-test-key-0123")}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.env = h.NewTestWorkflowEnvironment()
	h.env.SetStartTime(start)
	h.env.RegisterWorkflowWithOptions(HumanTask, workflow.RegisterOptions{Name: HumanTaskWorkflow})
	h.env.RegisterWorkflowWithOptions(PolicyChangeRequest, workflow.RegisterOptions{Name: PolicyChangeRequestWorkflow})
	h.env.RegisterWorkflowWithOptions(PolicyException, workflow.RegisterOptions{Name: PolicyExceptionWorkflow})
	h.env.RegisterActivity(&activities.Policies{DB: h.db.App})
	h.env.RegisterActivity(&activities.Announcer{DB: h.db.App, Mailer: h.mailer, Channel: "#security-policies"})
	h.env.RegisterActivity(&activities.Tasks{DB: h.db.App})
	h.env.RegisterActivity(&activities.Notifier{DB: h.db.App, Mailer: h.mailer, Links: signer,
		BaseURL: "https://comply.example.com", LinkTTL: 30 * day})
}

// actAt has person answer the task after d; got collects who was refused
// and who completed it.
func (h *policyHarness) actAt(d time.Duration, taskID, person string, action Action, got *[]string) {
	h.env.RegisterDelayedCallback(func() {
		err := h.env.UpdateWorkflowByID(taskID, UpdateComplete, fmt.Sprint("u", d, person), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(error) { *got = append(*got, person+" refused") },
			OnComplete: func(_ any, err error) {
				if err == nil {
					*got = append(*got, person+" completed")
				}
			},
		}, CompleteRequest{Action: action, PersonID: person, Note: "checked"})
		if err != nil {
			h.t.Errorf("update %s by %s: %v", taskID, person, err)
		}
	}, d)
}

// escalatedTo is who the task's escalation step reached, as recorded.
func (h *policyHarness) escalatedTo(taskID string, step int) []string {
	h.t.Helper()
	var people []string
	if err := h.db.Owner.Select(&people, `SELECT jsonb_array_elements_text(detail->'people') FROM task_events
		WHERE task_id = $1 AND event_key = $2`, taskID, fmt.Sprintf("escalated/%d", step)); err != nil {
		h.t.Fatal(err)
	}
	return people
}

// told is everyone a notification about the task went to, in order.
func (h *policyHarness) told(taskID string) []string {
	h.t.Helper()
	var people []string
	if err := h.db.Owner.Select(&people, `SELECT DISTINCT recipient_id FROM notifications WHERE task_id = $1 ORDER BY 1`, taskID); err != nil {
		h.t.Fatal(err)
	}
	return people
}

// The Privacy Officer asks for a change; the other Privacy Officer of that
// day leaves the role and a new one is appointed before the review is
// overdue. The escalation reaches the new holder only: neither the one
// removed nor the requester, who also cannot approve it.
func TestPolicyChangeEscalationReachesTheRolesCurrentHolders(t *testing.T) {
	start := time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	h.db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('olga', 'olga@example.com', 'Olga Old'), ('ivy', 'ivy@example.com', 'Ivy New');
		INSERT INTO roles (role, person_id) VALUES ('privacy_officer', 'olga')`)
	liveTasks(h, start)
	id := PolicyChangeRequestID("privacy", "new-officer")
	review := HumanTaskID(id, "review/1")
	h.env.RegisterDelayedCallback(func() {
		h.db.Owner.MustExec(`DELETE FROM roles WHERE role = 'privacy_officer' AND person_id = 'olga';
			INSERT INTO roles (role, person_id) VALUES ('privacy_officer', 'ivy')`)
	}, day)
	var got []string
	for _, p := range []string{"pat", "olga", "ivy"} {
		h.actAt(defaultPolicyTaskDue+day, review, p, ActionApprove, &got)
	}
	st := h.runChange(id, PolicyChangeInput{PolicyID: "privacy", Kind: "minor", Summary: "fix a typo", Text: "v1 fixed", RequesterID: "pat"})

	if st.Stage != StagePublished {
		t.Fatalf("result %+v, want published on ivy's approval", st)
	}
	if want := []string{"pat refused", "olga refused", "ivy completed"}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	if people := h.escalatedTo(review, 1); !slices.Equal(people, []string{"ivy"}) {
		t.Errorf("review escalated to %v, want the Privacy Officer appointed since, ivy, only", people)
	}
	if told := h.told(review); !slices.Equal(told, []string{"ivy", "sam"}) {
		t.Errorf("told about the review: %v, want the reviewer sam and ivy", told)
	}
	if n := h.count(`SELECT count(*) FROM change_request_decisions WHERE request_id = $1 AND step = 'review' AND decided_by = 'ivy'`, id); n != 1 {
		t.Errorf("ivy's review recorded %d times, want once", n)
	}
}

// A COO asks for an exception; at its expiry the undecided re-evaluation
// escalates to whoever is COO then, never to the requester.
func TestPolicyExceptionReEvaluationEscalatesToTheCurrentCOO(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	h.db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('ivy', 'ivy@example.com', 'Ivy New');
		INSERT INTO roles (role, person_id) VALUES ('coo', 'dee')`)
	liveTasks(h, start)
	id := PolicyExceptionID("access", "coo-asks")
	var got []string
	h.actAt(day, HumanTaskID(id, "security_officer/1"), "sam", ActionApprove, &got)
	h.actAt(day, HumanTaskID(id, "coo/1"), "dee", ActionApprove, &got)
	h.env.RegisterDelayedCallback(func() {
		h.db.Owner.MustExec(`DELETE FROM roles WHERE role = 'coo' AND person_id = 'dee';
			INSERT INTO roles (role, person_id) VALUES ('coo', 'ivy')`)
	}, 10*day)
	reeval := HumanTaskID(id, "re-evaluation/1")
	afterExpiry := expires.Add(day).Sub(start)
	for _, p := range []string{"coby", "dee", "ivy"} {
		h.actAt(afterExpiry, reeval, p, ActionReject, &got)
	}
	in := exceptionInput(expires)
	in.RequesterID = "coby"
	st, err := h.runException(id, in)
	if err != nil {
		t.Fatal(err)
	}

	if st.Stage != StageClosed {
		t.Errorf("result %+v, want closed on ivy's rejection", st)
	}
	slices.Sort(got)
	if want := []string{"coby refused", "dee completed", "dee refused", "ivy completed", "sam completed"}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	if people := h.escalatedTo(reeval, 1); !slices.Equal(people, []string{"ivy"}) {
		t.Errorf("re-evaluation escalated to %v, want the COO of the day, ivy, only", people)
	}
	if told := h.told(reeval); slices.Contains(told, "coby") || slices.Contains(told, "dee") {
		t.Errorf("told about the re-evaluation: %v; the requester coby and the former COO dee must not be", told)
	}
}
