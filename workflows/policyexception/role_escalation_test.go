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
