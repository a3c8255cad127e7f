package policyexception

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	exceptionact "github.com/complyflow/complyflow/activities/policyexception"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

func runException(h *policytest.Harness, id string, in Input) (Status, error) {
	h.T.Helper()
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.Env.ExecuteWorkflow(WorkflowName, in)
	if !h.Env.IsWorkflowCompleted() {
		h.T.Fatal("workflow did not complete")
	}
	var st Status
	err := h.Env.GetWorkflowError()
	if err == nil {
		err = h.Env.GetWorkflowResult(&st)
	}
	return st, err
}

func exceptionInput(expires time.Time) Input {
	return Input{PolicyID: "access", RequesterID: "eve", Purpose: "a customer's legacy VPN appliance",
		Reason: "the appliance cannot do MFA", Expires: expires}
}

func TestPolicyExceptionRefusedOverOneYear(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	_, err := runException(h, ID("access", "long"), exceptionInput(start.AddDate(1, 0, 1)))
	if err == nil || !strings.Contains(err.Error(), "expires at most one year after approval") {
		t.Errorf("a 13-month exception: %v, want refused with the one-year reason", err)
	}
	if len(h.Tasks) != 0 || h.Count(`SELECT count(*) FROM policy_exceptions`) != 0 {
		t.Errorf("a refused exception was recorded or sent for approval: %v", h.TaskIDs())
	}
}

func TestPolicyExceptionEitherApproverMayReject(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	id := ID("access", "vpn")
	h.On(humantask.ID(id, "security_officer/1"), policytest.Answer{After: 3 * policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "coo/1"), policytest.Answer{After: policytest.Day, By: "coby", Action: humantask.ActionReject, Note: "replace the appliance instead"})
	st, err := runException(h, id, exceptionInput(start.AddDate(0, 6, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != exceptionact.StatusRejected || len(st.Decisions) != 1 || st.Decisions[0].By != "coby" {
		t.Errorf("result %+v: the COO's rejection should end it", st)
	}
	if h.Task(humantask.ID(id, "security_officer/1")).AssigneeID != "sam" || h.Task(humantask.ID(id, "coo/1")).AssigneeID != "coby" {
		t.Error("approvals not asked of the Security Officer and the COO")
	}
	if n := h.Count(`SELECT count(*) FROM policy_exceptions WHERE id = $1 AND status = 'rejected' AND approved_at IS NULL`, id); n != 1 {
		t.Error("exception not recorded as rejected")
	}
}

func TestPolicyExceptionRemindersAndReEvaluation(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	id := ID("access", "vpn")
	h.On(humantask.ID(id, "security_officer/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "coo/1"), policytest.Answer{After: 2 * policytest.Day, By: "coby", Action: humantask.ActionApprove})
	// Nobody re-evaluates until five days after the expiry.
	h.On(humantask.ID(id, "re-evaluation/1"), policytest.Answer{After: 35 * policytest.Day, By: "sam", Action: humantask.ActionApprove, Note: "renew: appliance swap slipped"})
	in := exceptionInput(expires)
	_, err := runException(h, id, in)
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("renewal: %v, want a continue-as-new for the new approval round", err)
	}

	approved := start.Add(2 * policytest.Day)
	var term struct {
		ApprovedAt time.Time `db:"approved_at"`
		ExpiresAt  time.Time `db:"expires_at"`
	}
	h.DB.Owner.Get(&term, `SELECT approved_at, expires_at FROM policy_exceptions WHERE id = $1`, id)
	if !term.ApprovedAt.Equal(approved) || !term.ExpiresAt.Equal(expires) {
		t.Errorf("term %v .. %v, want approved when the second approval came (%v) until %v", term.ApprovedAt, term.ExpiresAt, approved, expires)
	}
	reminders := h.Calls("EmailPeople")
	if len(reminders) != 2 || !reminders[0].Equal(expires.Add(-30*policytest.Day)) || !reminders[1].Equal(expires.Add(-7*policytest.Day)) {
		t.Errorf("reminders at %v, want 30 and 7 days before %v", reminders, expires)
	}
	if n := h.Count(`SELECT count(*) FROM notifications WHERE task_id = $1 AND purpose LIKE 'exception-reminder/%' AND status = 'sent'`, id); n != 4 {
		t.Errorf("%d reminder emails recorded, want 4 (requester and officer, twice)", n)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.exception.reminded' AND control_id = 'personnel-accountability'`, id); n != 2 {
		t.Errorf("%d reminder audit entries, want 2", n)
	}
	reeval := h.Task(humantask.ID(id, "re-evaluation/1"))
	if !h.Started[reeval.TaskID].Equal(expires.Add(-30*policytest.Day)) || !reeval.Due.Equal(expires) {
		t.Errorf("re-evaluation opened %v due %v, want opened 30 days ahead and due at the expiry", h.Started[reeval.TaskID], reeval.Due)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.exception.expired'`, id); n != 1 {
		t.Error("the undecided exception did not lapse at its expiry")
	}

	// The renewal is a new approval round; its term is as long as the first.
	var next Input
	h.NewEnv(expires.Add(5 * policytest.Day))
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Round != 2 {
		t.Fatalf("renewal input %+v", next)
	}
	h.On(humantask.ID(id, "security_officer/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "coo/2"), policytest.Answer{After: policytest.Day, By: "coby", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "re-evaluation/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "appliance replaced"})
	st, err := runException(h, id, next)
	if err != nil {
		t.Fatal(err)
	}
	renewed := expires.Add(6 * policytest.Day)
	if st.Stage != exceptionact.StatusClosed || !st.ApprovedAt.Equal(renewed) || !st.ExpiresAt.Equal(renewed.Add(expires.Sub(start))) {
		t.Errorf("renewal %+v: want approved %v for as long as the first term, then closed", st, renewed)
	}
	if n := h.Count(`SELECT count(*) FROM policy_exceptions WHERE id = $1 AND status = 'closed' AND round = 2`, id); n != 1 {
		t.Error("exception not closed in round 2")
	}
}

// Approved only after the expiry asked for: the exception is not recorded as
// approved with a term that ends before it starts.
func TestPolicyExceptionApprovedAfterItsExpiryIsRefused(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	id := ID("access", "late")
	h.On(humantask.ID(id, "security_officer/1"), policytest.Answer{After: 3 * policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "coo/1"), policytest.Answer{After: 7 * policytest.Day, By: "coby", Action: humantask.ActionApprove})
	st, err := runException(h, id, exceptionInput(start.Add(5*policytest.Day)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != exceptionact.StatusRejected || !st.ExpiresAt.IsZero() {
		t.Errorf("result %+v: want refused, with no term", st)
	}
	if n := h.Count(`SELECT count(*) FROM policy_exceptions WHERE id = $1 AND status = 'approved'`, id); n != 0 {
		t.Error("recorded as approved with a term that ended before the approval")
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.exception.rejected'
		AND detail->>'note' LIKE '%after the expiry asked for%'`, id); n != 1 {
		t.Error("the refusal's reason is not recorded")
	}
}

// A renewal decided before the expiry keeps the term in effect (and its
// status approved) while the new approvals are asked for, and the term
// lapses at its end if they have not come by then.
func TestPolicyExceptionRenewalKeepsTheTermUntilItLapses(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	id := ID("access", "renew-early")
	h.On(humantask.ID(id, "security_officer/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "coo/1"), policytest.Answer{After: policytest.Day, By: "coby", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "re-evaluation/1"), policytest.Answer{After: 10 * policytest.Day, By: "sam", Action: humantask.ActionApprove, Note: "renew"})
	_, err := runException(h, id, exceptionInput(expires))
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("renewal: %v, want a continue-as-new", err)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	renewalStart := expires.Add(-20 * policytest.Day)
	h.NewEnv(renewalStart)
	h.On(humantask.ID(id, "security_officer/2"), policytest.Answer{After: 5 * policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "coo/2"), policytest.Answer{After: 30 * policytest.Day, By: "coby", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "re-evaluation/2"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "done"})
	statusAt := map[string]string{}
	for _, after := range []time.Duration{10 * policytest.Day, 25 * policytest.Day} {
		h.Env.RegisterDelayedCallback(func() {
			var s string
			h.DB.Owner.Get(&s, `SELECT status FROM policy_exceptions WHERE id = $1`, id)
			statusAt[after.String()] = s
		}, after)
	}
	st, err := runException(h, id, next)
	if err != nil {
		t.Fatal(err)
	}
	if got := statusAt[(10 * policytest.Day).String()]; got != "approved" {
		t.Errorf("status while the first term still ran: %q, want approved", got)
	}
	if got := statusAt[(25 * policytest.Day).String()]; got != "expired" {
		t.Errorf("status after the first term ended with the renewal undecided: %q, want expired", got)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.exception.expired' AND (detail->>'round')::int = 2`, id); n != 1 {
		t.Errorf("%d expiries recorded in the renewal round, want 1", n)
	}
	if renewed := renewalStart.Add(30 * policytest.Day); st.Stage != exceptionact.StatusClosed || !st.ApprovedAt.Equal(renewed) {
		t.Errorf("result %+v: want the renewal approved %v, then closed", st, renewed)
	}
}

// In a renewal round the term in effect lapses before the renewal is
// approved, and the renewed term then ends with nobody re-evaluating it:
// both ends are audited in that round, each naming the term that ended.
func TestPolicyExceptionRenewalRoundAuditsBothExpiries(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	id := ID("access", "two-ends")
	h.On(humantask.ID(id, "security_officer/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "coo/1"), policytest.Answer{After: policytest.Day, By: "coby", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "re-evaluation/1"), policytest.Answer{After: 10 * policytest.Day, By: "sam", Action: humantask.ActionApprove, Note: "renew"})
	_, err := runException(h, id, exceptionInput(expires))
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("renewal: %v, want a continue-as-new", err)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	h.NewEnv(expires.Add(-20 * policytest.Day))
	h.On(humantask.ID(id, "security_officer/2"), policytest.Answer{After: 5 * policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "coo/2"), policytest.Answer{After: 30 * policytest.Day, By: "coby", Action: humantask.ActionApprove})
	// Re-evaluated only five days after the renewed term ended.
	h.On(humantask.ID(id, "re-evaluation/2"), policytest.Answer{After: 35 * policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "done"})
	st, err := runException(h, id, next)
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != exceptionact.StatusClosed {
		t.Fatalf("result %+v: want closed", st)
	}
	var ends []time.Time
	if err := h.DB.Owner.Select(&ends, `SELECT (detail->>'expires_at')::timestamptz FROM audit_log
		WHERE subject = $1 AND action = 'policy.exception.expired' AND (detail->>'round')::int = 2 ORDER BY id`, id); err != nil {
		t.Fatal(err)
	}
	if len(ends) != 2 || !ends[0].Equal(expires) || !ends[1].Equal(st.ExpiresAt) {
		t.Errorf("expiries audited in round 2: %v, want the first term's end %v, then the renewed term's %v", ends, expires, st.ExpiresAt)
	}
}

// Segregation of duties: a COO who asks for an exception neither approves it
// nor is handed its re-evaluation; another COO is.
func TestPolicyExceptionRequesterNeverDecidesTheirOwn(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	h.DB.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('coo', 'dee')`)
	id := ID("access", "coo-asks")
	h.On(humantask.ID(id, "security_officer/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "coo/1"), policytest.Answer{After: policytest.Day, By: "dee", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "re-evaluation/1"), policytest.Answer{After: 10 * policytest.Day, By: "sam", Action: humantask.ActionReject, Note: "no longer needed"})
	in := exceptionInput(expires)
	in.RequesterID = "coby"
	st, err := runException(h, id, in)
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != exceptionact.StatusClosed {
		t.Errorf("result %+v: want closed", st)
	}
	if got := h.Task(humantask.ID(id, "coo/1")).AssigneeID; got != "dee" {
		t.Errorf("the COO approval went to %q, want dee: the requester coby may not approve their own exception", got)
	}
	reeval := h.Task(humantask.ID(id, "re-evaluation/1"))
	if want := []workflows.EscalationStep{{To: "role:coo", Except: []string{"coby"}}}; reeval.AssigneeID != "sam" || !reflect.DeepEqual(reeval.Escalation, want) {
		t.Errorf("re-evaluation to %q escalating to %+v, want sam escalating to the COOs but coby", reeval.AssigneeID, reeval.Escalation)
	}
}

// The only Security Officer cannot ask for an exception: nobody else could
// approve it. The request is refused at once, naming the role to fill, and
// nothing is recorded or sent.
func TestPolicyExceptionRefusedWhenOnlyTheRequesterHoldsARole(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	in := exceptionInput(start.AddDate(0, 6, 0))
	in.RequesterID = "sam"
	_, err := runException(h, ID("access", "own"), in)
	if err == nil || !strings.Contains(err.Error(), "only holder of the role security_officer") ||
		!strings.Contains(err.Error(), "roles.security_officer in the program file") {
		t.Errorf("the sole Security Officer's own exception: %v, want refused naming the role to fill", err)
	}
	if len(h.Tasks) != 0 || h.Count(`SELECT count(*) FROM policy_exceptions`)+h.Count(`SELECT count(*) FROM audit_log`) != 0 {
		t.Errorf("a refused exception was recorded or sent for approval: %v", h.TaskIDs())
	}
}

// A renewal asked for when the requester has become the only Security
// Officer cannot be approved by anyone: the term in effect runs out and
// expires, or, already ended, the renewal is refused; the record names the
// role to fill and no approval is asked of the requester.
func TestPolicyExceptionRenewalRefusedWhenOnlyTheRequesterHoldsARole(t *testing.T) {
	for _, tc := range []struct {
		name         string
		reEvaluated  time.Duration // after the re-evaluation task opens, 30 days before the expiry
		status       string
		stage        string
		auditedInRd2 string
	}{
		{"term in effect", 10 * policytest.Day, "expired", exceptionact.StatusExpired, "policy.exception.expired"},
		{"term ended", 35 * policytest.Day, "rejected", exceptionact.StatusRejected, "policy.exception.rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
			expires := time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC)
			h := newPolicyHarness(t, start)
			h.DB.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('security_officer', 'pat')`)
			id := ID("access", "officer-asks")
			h.On(humantask.ID(id, "security_officer/1"), policytest.Answer{After: policytest.Day, By: "pat", Action: humantask.ActionApprove})
			h.On(humantask.ID(id, "coo/1"), policytest.Answer{After: policytest.Day, By: "coby", Action: humantask.ActionApprove})
			h.On(humantask.ID(id, "re-evaluation/1"), policytest.Answer{After: tc.reEvaluated, By: "pat", Action: humantask.ActionApprove, Note: "renew"})
			in := exceptionInput(expires)
			in.RequesterID = "sam"
			_, err := runException(h, id, in)
			var can *workflow.ContinueAsNewError
			if !errors.As(err, &can) {
				t.Fatalf("renewal: %v, want a continue-as-new", err)
			}
			var next Input
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				t.Fatal(err)
			}
			h.DB.Owner.MustExec(`DELETE FROM roles WHERE role = 'security_officer' AND person_id = 'pat'`)
			renewalStart := expires.Add(-30*policytest.Day + tc.reEvaluated)
			h.NewEnv(renewalStart)
			st, err := runException(h, id, next)
			if err != nil {
				t.Fatal(err)
			}
			if st.Stage != tc.stage {
				t.Errorf("result %+v: want %s", st, tc.stage)
			}
			for _, task := range h.Tasks {
				if strings.HasSuffix(task.TaskID, "/2") {
					t.Errorf("round 2 asked %s for %s", task.AssigneeID, task.TaskID)
				}
			}
			var status string
			h.DB.Owner.Get(&status, `SELECT status FROM policy_exceptions WHERE id = $1 AND round = 2`, id)
			if status != tc.status {
				t.Errorf("record status %q in round 2, want %s", status, tc.status)
			}
			if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = $2 AND (detail->>'round')::int = 2
				AND detail->>'note' LIKE '%sam is the only holder of the role security_officer%'`, id, tc.auditedInRd2); n != 1 {
				t.Errorf("%d %s entries in round 2 naming the role to fill, want 1", n, tc.auditedInRd2)
			}
			var set []time.Time
			for _, at := range h.Calls("SetExceptionStatus") {
				if !at.Before(renewalStart) {
					set = append(set, at)
				}
			}
			want := expires
			if renewalStart.After(expires) {
				want = renewalStart
			}
			if len(set) != 1 || !set[0].Equal(want) {
				t.Errorf("round 2 set the status at %v, want once, at %v", set, want)
			}
		})
	}
}
