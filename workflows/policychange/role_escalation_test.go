package policychange

import (
	"slices"
	"testing"
	"time"

	changeact "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// The Privacy Officer asks for a change; the other Privacy Officer of that
// day leaves the role and a new one is appointed before the review is
// overdue. The escalation reaches the new holder only: neither the one
// removed nor the requester, who also cannot approve it.
func TestPolicyChangeEscalationReachesTheRolesCurrentHolders(t *testing.T) {
	start := time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	h.DB.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('olga', 'olga@example.com', 'Olga Old'), ('ivy', 'ivy@example.com', 'Ivy New');
		INSERT INTO roles (role, person_id) VALUES ('privacy_officer', 'olga')`)
	policytest.LiveTasks(h, start)
	id := ID("privacy", "new-officer")
	review := humantask.ID(id, "review/1")
	h.Env.RegisterDelayedCallback(func() {
		h.DB.Owner.MustExec(`DELETE FROM roles WHERE role = 'privacy_officer' AND person_id = 'olga';
			INSERT INTO roles (role, person_id) VALUES ('privacy_officer', 'ivy')`)
	}, policytest.Day)
	var got []string
	for _, p := range []string{"pat", "olga", "ivy"} {
		policytest.ActAt(h, humantask.DefaultDue+policytest.Day, review, p, humantask.ActionApprove, &got)
	}
	st := runChange(h, id, Input{PolicyID: "privacy", Kind: "minor", Summary: "fix a typo", Text: "v1 fixed", RequesterID: "pat"})

	if st.Stage != changeact.StatusPublished {
		t.Fatalf("result %+v, want published on ivy's approval", st)
	}
	if want := []string{"pat refused", "olga refused", "ivy completed"}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	if people := policytest.EscalatedTo(h, review, 1); !slices.Equal(people, []string{"ivy"}) {
		t.Errorf("review escalated to %v, want the Privacy Officer appointed since, ivy, only", people)
	}
	if told := policytest.Told(h, review); !slices.Equal(told, []string{"ivy", "sam"}) {
		t.Errorf("told about the review: %v, want the reviewer sam and ivy", told)
	}
	if n := h.Count(`SELECT count(*) FROM change_request_decisions WHERE request_id = $1 AND step = 'review' AND decided_by = 'ivy'`, id); n != 1 {
		t.Errorf("ivy's review recorded %d times, want once", n)
	}
}

// A Head of Engineering asks for a change to a product development policy:
// the engineering approval goes to another Head of Engineering and, overdue,
// escalates to the role's remaining holder, never back to the requester.
func TestPolicyChangeEngineeringApprovalEscalatesToTheOtherHeads(t *testing.T) {
	start := time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC)
	h := newPolicyHarness(t, start)
	h.DB.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('hank', 'hank@example.com', 'Hank Head'),
			('hana', 'hana@example.com', 'Hana Head'), ('holly', 'holly@example.com', 'Holly Head');
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'hank'), ('head_of_engineering', 'hana'), ('head_of_engineering', 'holly');
		INSERT INTO policies (id, title, owner_id, source, created_at, product_development) VALUES ('sdlc', 'Secure Development Policy', 'sam', 'policies/sdlc.md', '2023-01-10', true);`)
	policytest.LiveTasks(h, start)
	id := ID("sdlc", "overdue-engineering")
	eng := humantask.ID(id, "engineering-approval/1")
	var got []string
	policytest.ActAt(h, policytest.Day, humantask.ID(id, "review/1"), "sam", humantask.ActionApprove, &got)
	for _, p := range []string{"hank", "holly"} {
		policytest.ActAt(h, policytest.Day+humantask.DefaultDue+policytest.Day, eng, p, humantask.ActionApprove, &got)
	}
	st := runChange(h, id, Input{PolicyID: "sdlc", Kind: "minor", Summary: "two reviewers", Text: "v1 reviewed twice", RequesterID: "hank"})

	if st.Stage != changeact.StatusPublished {
		t.Fatalf("result %+v, want published on holly's approval", st)
	}
	if want := []string{"sam completed", "hank refused", "holly completed"}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	if n := h.Count(`SELECT count(*) FROM tasks WHERE id = $1 AND assignee_id = 'hana'`, eng); n != 1 {
		t.Errorf("engineering approval not assigned to hana, the first Head of Engineering other than the requester")
	}
	if people := policytest.EscalatedTo(h, eng, 1); !slices.Equal(people, []string{"holly"}) {
		t.Errorf("engineering approval escalated to %v, want the other Head of Engineering, holly, only", people)
	}
	if told := policytest.Told(h, eng); slices.Contains(told, "hank") {
		t.Errorf("told about the engineering approval: %v; the requester hank must not be", told)
	}
}
