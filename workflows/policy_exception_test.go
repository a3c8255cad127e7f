package workflows

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

func (h *policyHarness) runException(id string, in PolicyExceptionInput) (PolicyExceptionStatus, error) {
	h.t.Helper()
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.env.ExecuteWorkflow(PolicyExceptionWorkflow, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	var st PolicyExceptionStatus
	err := h.env.GetWorkflowError()
	if err == nil {
		err = h.env.GetWorkflowResult(&st)
	}
	return st, err
}

func exceptionInput(expires time.Time) PolicyExceptionInput {
	return PolicyExceptionInput{PolicyID: "access", RequesterID: "eve", Purpose: "a customer's legacy VPN appliance",
		Reason: "the appliance cannot do MFA", Expires: expires}
}

func TestPolicyExceptionRefusedOverOneYear(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	_, err := h.runException(PolicyExceptionID("access", "long"), exceptionInput(start.AddDate(1, 0, 1)))
	if err == nil || !strings.Contains(err.Error(), "expires at most one year after approval") {
		t.Errorf("a 13-month exception: %v, want refused with the one-year reason", err)
	}
	if len(h.tasks) != 0 || h.count(`SELECT count(*) FROM policy_exceptions`) != 0 {
		t.Errorf("a refused exception was recorded or sent for approval: %v", h.taskIDs())
	}
}

func TestPolicyExceptionEitherApproverMayReject(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	id := PolicyExceptionID("access", "vpn")
	h.on(HumanTaskID(id, "security_officer/1"), answer{after: 3 * day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "coo/1"), answer{after: day, by: "coby", action: ActionReject, note: "replace the appliance instead"})
	st, err := h.runException(id, exceptionInput(start.AddDate(0, 6, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != StageRejected || len(st.Decisions) != 1 || st.Decisions[0].By != "coby" {
		t.Errorf("result %+v: the COO's rejection should end it", st)
	}
	if h.task(HumanTaskID(id, "security_officer/1")).AssigneeID != "sam" || h.task(HumanTaskID(id, "coo/1")).AssigneeID != "coby" {
		t.Error("approvals not asked of the Security Officer and the COO")
	}
	if n := h.count(`SELECT count(*) FROM policy_exceptions WHERE id = $1 AND status = 'rejected' AND approved_at IS NULL`, id); n != 1 {
		t.Error("exception not recorded as rejected")
	}
}

func TestPolicyExceptionRemindersAndReEvaluation(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	id := PolicyExceptionID("access", "vpn")
	h.on(HumanTaskID(id, "security_officer/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "coo/1"), answer{after: 2 * day, by: "coby", action: ActionApprove})
	// Nobody re-evaluates until five days after the expiry.
	h.on(HumanTaskID(id, "re-evaluation/1"), answer{after: 35 * day, by: "sam", action: ActionApprove, note: "renew: appliance swap slipped"})
	in := exceptionInput(expires)
	_, err := h.runException(id, in)
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("renewal: %v, want a continue-as-new for the new approval round", err)
	}

	approved := start.Add(2 * day)
	var term struct {
		ApprovedAt time.Time `db:"approved_at"`
		ExpiresAt  time.Time `db:"expires_at"`
	}
	h.db.Owner.Get(&term, `SELECT approved_at, expires_at FROM policy_exceptions WHERE id = $1`, id)
	if !term.ApprovedAt.Equal(approved) || !term.ExpiresAt.Equal(expires) {
		t.Errorf("term %v .. %v, want approved when the second approval came (%v) until %v", term.ApprovedAt, term.ExpiresAt, approved, expires)
	}
	reminders := h.calls("EmailPeople")
	if len(reminders) != 2 || !reminders[0].Equal(expires.Add(-30*day)) || !reminders[1].Equal(expires.Add(-7*day)) {
		t.Errorf("reminders at %v, want 30 and 7 days before %v", reminders, expires)
	}
	if n := h.count(`SELECT count(*) FROM notifications WHERE task_id = $1 AND purpose LIKE 'exception-reminder/%' AND status = 'sent'`, id); n != 4 {
		t.Errorf("%d reminder emails recorded, want 4 (requester and officer, twice)", n)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.exception.reminded' AND control_id = 'personnel-accountability'`, id); n != 2 {
		t.Errorf("%d reminder audit entries, want 2", n)
	}
	reeval := h.task(HumanTaskID(id, "re-evaluation/1"))
	if !h.started[reeval.TaskID].Equal(expires.Add(-30*day)) || !reeval.Due.Equal(expires) {
		t.Errorf("re-evaluation opened %v due %v, want opened 30 days ahead and due at the expiry", h.started[reeval.TaskID], reeval.Due)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.exception.expired'`, id); n != 1 {
		t.Error("the undecided exception did not lapse at its expiry")
	}

	// The renewal is a new approval round; its term is as long as the first.
	var next PolicyExceptionInput
	h.newEnv(expires.Add(5 * day))
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Round != 2 {
		t.Fatalf("renewal input %+v", next)
	}
	h.on(HumanTaskID(id, "security_officer/2"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "coo/2"), answer{after: day, by: "coby", action: ActionApprove})
	h.on(HumanTaskID(id, "re-evaluation/2"), answer{after: day, by: "sam", action: ActionReject, note: "appliance replaced"})
	st, err := h.runException(id, next)
	if err != nil {
		t.Fatal(err)
	}
	renewed := expires.Add(6 * day)
	if st.Stage != StageClosed || !st.ApprovedAt.Equal(renewed) || !st.ExpiresAt.Equal(renewed.Add(expires.Sub(start))) {
		t.Errorf("renewal %+v: want approved %v for as long as the first term, then closed", st, renewed)
	}
	if n := h.count(`SELECT count(*) FROM policy_exceptions WHERE id = $1 AND status = 'closed' AND round = 2`, id); n != 1 {
		t.Error("exception not closed in round 2")
	}
}

// Approved only after the expiry asked for: the exception is not recorded as
// approved with a term that ends before it starts.
func TestPolicyExceptionApprovedAfterItsExpiryIsRefused(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	id := PolicyExceptionID("access", "late")
	h.on(HumanTaskID(id, "security_officer/1"), answer{after: 3 * day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "coo/1"), answer{after: 7 * day, by: "coby", action: ActionApprove})
	st, err := h.runException(id, exceptionInput(start.Add(5*day)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != StageRejected || !st.ExpiresAt.IsZero() {
		t.Errorf("result %+v: want refused, with no term", st)
	}
	if n := h.count(`SELECT count(*) FROM policy_exceptions WHERE id = $1 AND status = 'approved'`, id); n != 0 {
		t.Error("recorded as approved with a term that ended before the approval")
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.exception.rejected'
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
	id := PolicyExceptionID("access", "renew-early")
	h.on(HumanTaskID(id, "security_officer/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "coo/1"), answer{after: day, by: "coby", action: ActionApprove})
	h.on(HumanTaskID(id, "re-evaluation/1"), answer{after: 10 * day, by: "sam", action: ActionApprove, note: "renew"})
	_, err := h.runException(id, exceptionInput(expires))
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("renewal: %v, want a continue-as-new", err)
	}
	var next PolicyExceptionInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	renewalStart := expires.Add(-20 * day)
	h.newEnv(renewalStart)
	h.on(HumanTaskID(id, "security_officer/2"), answer{after: 5 * day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "coo/2"), answer{after: 30 * day, by: "coby", action: ActionApprove})
	h.on(HumanTaskID(id, "re-evaluation/2"), answer{after: day, by: "sam", action: ActionReject, note: "done"})
	statusAt := map[string]string{}
	for _, after := range []time.Duration{10 * day, 25 * day} {
		h.env.RegisterDelayedCallback(func() {
			var s string
			h.db.Owner.Get(&s, `SELECT status FROM policy_exceptions WHERE id = $1`, id)
			statusAt[after.String()] = s
		}, after)
	}
	st, err := h.runException(id, next)
	if err != nil {
		t.Fatal(err)
	}
	if got := statusAt[(10 * day).String()]; got != "approved" {
		t.Errorf("status while the first term still ran: %q, want approved", got)
	}
	if got := statusAt[(25 * day).String()]; got != "expired" {
		t.Errorf("status after the first term ended with the renewal undecided: %q, want expired", got)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.exception.expired' AND (detail->>'round')::int = 2`, id); n != 1 {
		t.Errorf("%d expiries recorded in the renewal round, want 1", n)
	}
	if renewed := renewalStart.Add(30 * day); st.Stage != StageClosed || !st.ApprovedAt.Equal(renewed) {
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
	id := PolicyExceptionID("access", "two-ends")
	h.on(HumanTaskID(id, "security_officer/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "coo/1"), answer{after: day, by: "coby", action: ActionApprove})
	h.on(HumanTaskID(id, "re-evaluation/1"), answer{after: 10 * day, by: "sam", action: ActionApprove, note: "renew"})
	_, err := h.runException(id, exceptionInput(expires))
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("renewal: %v, want a continue-as-new", err)
	}
	var next PolicyExceptionInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	h.newEnv(expires.Add(-20 * day))
	h.on(HumanTaskID(id, "security_officer/2"), answer{after: 5 * day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "coo/2"), answer{after: 30 * day, by: "coby", action: ActionApprove})
	// Re-evaluated only five days after the renewed term ended.
	h.on(HumanTaskID(id, "re-evaluation/2"), answer{after: 35 * day, by: "sam", action: ActionReject, note: "done"})
	st, err := h.runException(id, next)
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != StageClosed {
		t.Fatalf("result %+v: want closed", st)
	}
	var ends []time.Time
	if err := h.db.Owner.Select(&ends, `SELECT (detail->>'expires_at')::timestamptz FROM audit_log
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
	h.db.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('coo', 'dee')`)
	id := PolicyExceptionID("access", "coo-asks")
	h.on(HumanTaskID(id, "security_officer/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "coo/1"), answer{after: day, by: "dee", action: ActionApprove})
	h.on(HumanTaskID(id, "re-evaluation/1"), answer{after: 10 * day, by: "sam", action: ActionReject, note: "no longer needed"})
	in := exceptionInput(expires)
	in.RequesterID = "coby"
	st, err := h.runException(id, in)
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != StageClosed {
		t.Errorf("result %+v: want closed", st)
	}
	if got := h.task(HumanTaskID(id, "coo/1")).AssigneeID; got != "dee" {
		t.Errorf("the COO approval went to %q, want dee: the requester coby may not approve their own exception", got)
	}
	reeval := h.task(HumanTaskID(id, "re-evaluation/1"))
	if want := []EscalationStep{{To: "role:coo", Except: []string{"coby"}}}; reeval.AssigneeID != "sam" || !reflect.DeepEqual(reeval.Escalation, want) {
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
	_, err := h.runException(PolicyExceptionID("access", "own"), in)
	if err == nil || !strings.Contains(err.Error(), "only holder of the role security_officer") ||
		!strings.Contains(err.Error(), "roles.security_officer in the program file") {
		t.Errorf("the sole Security Officer's own exception: %v, want refused naming the role to fill", err)
	}
	if len(h.tasks) != 0 || h.count(`SELECT count(*) FROM policy_exceptions`)+h.count(`SELECT count(*) FROM audit_log`) != 0 {
		t.Errorf("a refused exception was recorded or sent for approval: %v", h.taskIDs())
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
		{"term in effect", 10 * day, "expired", StageExpired, "policy.exception.expired"},
		{"term ended", 35 * day, "rejected", StageRejected, "policy.exception.rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
			expires := time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC)
			h := newPolicyHarness(t, start)
			h.db.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('security_officer', 'pat')`)
			id := PolicyExceptionID("access", "officer-asks")
			h.on(HumanTaskID(id, "security_officer/1"), answer{after: day, by: "pat", action: ActionApprove})
			h.on(HumanTaskID(id, "coo/1"), answer{after: day, by: "coby", action: ActionApprove})
			h.on(HumanTaskID(id, "re-evaluation/1"), answer{after: tc.reEvaluated, by: "pat", action: ActionApprove, note: "renew"})
			in := exceptionInput(expires)
			in.RequesterID = "sam"
			_, err := h.runException(id, in)
			var can *workflow.ContinueAsNewError
			if !errors.As(err, &can) {
				t.Fatalf("renewal: %v, want a continue-as-new", err)
			}
			var next PolicyExceptionInput
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				t.Fatal(err)
			}
			h.db.Owner.MustExec(`DELETE FROM roles WHERE role = 'security_officer' AND person_id = 'pat'`)
			renewalStart := expires.Add(-30*day + tc.reEvaluated)
			h.newEnv(renewalStart)
			st, err := h.runException(id, next)
			if err != nil {
				t.Fatal(err)
			}
			if st.Stage != tc.stage {
				t.Errorf("result %+v: want %s", st, tc.stage)
			}
			for _, task := range h.tasks {
				if strings.HasSuffix(task.TaskID, "/2") {
					t.Errorf("round 2 asked %s for %s", task.AssigneeID, task.TaskID)
				}
			}
			var status string
			h.db.Owner.Get(&status, `SELECT status FROM policy_exceptions WHERE id = $1 AND round = 2`, id)
			if status != tc.status {
				t.Errorf("record status %q in round 2, want %s", status, tc.status)
			}
			if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = $2 AND (detail->>'round')::int = 2
				AND detail->>'note' LIKE '%sam is the only holder of the role security_officer%'`, id, tc.auditedInRd2); n != 1 {
				t.Errorf("%d %s entries in round 2 naming the role to fill, want 1", n, tc.auditedInRd2)
			}
			var set []time.Time
			for _, at := range h.calls("SetExceptionStatus") {
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
