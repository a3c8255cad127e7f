package policyexception

import (
	"slices"
	"testing"
	"time"

	act "github.com/complyflow/complyflow/activities/policyexception"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// A COO asks for an exception; at its expiry the undecided re-evaluation
// escalates to whoever is COO then, never to the requester.
func TestPolicyExceptionReEvaluationEscalatesToTheCurrentCOO(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	h.DB.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('ivy', 'ivy@example.com', 'Ivy New');
		INSERT INTO roles (role, person_id) VALUES ('coo', 'dee')`)
	policytest.LiveTasks(h, start)
	id := ID("access", "coo-asks")
	var got []string
	policytest.ActAt(h, policytest.Day, humantask.ID(id, "security_officer/1"), "sam", humantask.ActionApprove, &got)
	policytest.ActAt(h, policytest.Day, humantask.ID(id, "coo/1"), "dee", humantask.ActionApprove, &got)
	h.Env.RegisterDelayedCallback(func() {
		h.DB.Owner.MustExec(`DELETE FROM roles WHERE role = 'coo' AND person_id = 'dee';
			INSERT INTO roles (role, person_id) VALUES ('coo', 'ivy')`)
	}, 10*policytest.Day)
	reeval := humantask.ID(id, "re-evaluation/1")
	afterExpiry := expires.Add(policytest.Day).Sub(start)
	for _, p := range []string{"coby", "dee", "ivy"} {
		policytest.ActAt(h, afterExpiry, reeval, p, humantask.ActionReject, &got)
	}
	in := exceptionInput(expires)
	in.RequesterID = "coby"
	st, err := runException(h, id, in)
	if err != nil {
		t.Fatal(err)
	}

	if st.Stage != act.StatusClosed {
		t.Errorf("result %+v, want closed on ivy's rejection", st)
	}
	slices.Sort(got)
	if want := []string{"coby refused", "dee completed", "dee refused", "ivy completed", "sam completed"}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	if people := policytest.EscalatedTo(h, reeval, 1); !slices.Equal(people, []string{"ivy"}) {
		t.Errorf("re-evaluation escalated to %v, want the COO of the day, ivy, only", people)
	}
	if told := policytest.Told(h, reeval); slices.Contains(told, "coby") || slices.Contains(told, "dee") {
		t.Errorf("told about the re-evaluation: %v; the requester coby and the former COO dee must not be", told)
	}
}

// Both approvals of an exception escalate once overdue: the Security
// Officer's to the role's other holders, the COO's to the other COOs; neither
// reaches the requester or the person asked for the other approval.
func TestPolicyExceptionApprovalsEscalateToTheRolesOtherHolders(t *testing.T) {
	start := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	h.DB.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('sol', 'sol@example.com', 'Sol Second Officer'),
			('cora', 'cora@example.com', 'Cora Second COO');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sol'), ('coo', 'cora'), ('coo', 'sam'), ('security_officer', 'eve')`)
	policytest.LiveTasks(h, start)
	id := ID("access", "overdue-approvals")
	so, coo := humantask.ID(id, "security_officer/1"), humantask.ID(id, "coo/1")
	overdue := humantask.DefaultDue + policytest.Day
	var got []string
	policytest.ActAt(h, overdue, so, "sol", humantask.ActionApprove, &got)
	policytest.ActAt(h, overdue+time.Hour, coo, "sam", humantask.ActionApprove, &got)
	policytest.ActAt(h, overdue+2*time.Hour, coo, "cora", humantask.ActionApprove, &got)
	// Closed at its re-evaluation, so the run ends.
	policytest.ActAt(h, expires.Add(-10*policytest.Day).Sub(start), humantask.ID(id, "re-evaluation/1"), "sam", humantask.ActionReject, &got)
	st, err := runException(h, id, exceptionInput(expires)) // requested by eve, a Security Officer herself
	if err != nil {
		t.Fatal(err)
	}

	if st.Stage != act.StatusClosed || st.ApprovedAt.IsZero() {
		t.Errorf("result %+v, want approved, then closed at its re-evaluation", st)
	}
	if want := []string{"sol completed", "sam refused", "cora completed", "sam completed"}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	if people := policytest.EscalatedTo(h, so, 1); !slices.Equal(people, []string{"sol"}) {
		t.Errorf("security officer approval escalated to %v, want sol only (not the requester eve)", people)
	}
	if people := policytest.EscalatedTo(h, coo, 1); !slices.Equal(people, []string{"cora"}) {
		t.Errorf("COO approval escalated to %v, want cora only (not sam, who approves as Security Officer)", people)
	}
}
