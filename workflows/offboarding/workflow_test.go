package offboarding

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
	"go.temporal.io/sdk/testsuite"
)

// Manual removal: the owner's task opens on the last day; "Access removed"
// with a note and "No account" each confirm a system, recorded with who,
// when, the deadline and that it was met; then the run completes.
func TestManualRemovalByOwnerTask(t *testing.T) {
	h := newHarness(t)
	h.system("sys-git", "manual", "critical", "")
	h.system("sys-wiki", "manual", "low", "")
	var got []string
	h.answer(endOfDay.Add(time.Hour), "sys-git", "olga", humantask.ActionRemoved, "removed from the org", &got)
	h.answer(endOfDay.Add(2*time.Hour), "sys-wiki", "olga", humantask.ActionNoAccount, "", &got)
	st, err := h.run("mo")
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != act.StatusCompleted || len(got) != 2 {
		t.Fatalf("stage %s, answers %v", st.Stage, got)
	}
	rs := h.removals()
	git, wiki := rs["sys-git"], rs["sys-wiki"]
	if git.Method != "manual" || git.Outcome != "removed" || git.By != "olga" || git.Note != "removed from the org" ||
		!git.At.Equal(endOfDay.Add(time.Hour)) || !git.Deadline.Equal(endOfDay.Add(4*time.Hour)) || !git.Met {
		t.Errorf("sys-git evidence %+v", git)
	}
	if wiki.Outcome != "no_account" || !wiki.Deadline.Equal(endOfDay.Add(24*time.Hour)) || !wiki.Met {
		t.Errorf("sys-wiki evidence %+v", wiki)
	}
	// The task opened when the last day began (the run started at 09:00 on it).
	var created time.Time
	h.db.Owner.Get(&created, `SELECT due_at FROM tasks WHERE id = $1`, removalTask("sys-git"))
	if !created.Equal(endOfDay.Add(4 * time.Hour)) {
		t.Errorf("task due %v, want the deadline", created)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE action = 'offboarding.access-removed' AND control_id = 'removal-of-access'`); n != 2 {
		t.Errorf("%d audited removals, want 2", n)
	}
	if n := h.count(`SELECT count(*) FROM offboardings WHERE person_id = 'lee' AND status = 'completed' AND started_by = 'mo'`); n != 1 {
		t.Errorf("offboarding not recorded completed")
	}
}

// Deadline -> reminder -> escalation: nobody answers the critical system's
// task; it is reminded hourly, escalated at the deadline to the owner's
// manager and 2h later to the security officer, who completes it late;
// the evidence says the deadline was missed.
func TestOverdueRemovalRemindsThenEscalates(t *testing.T) {
	h := newHarness(t)
	h.system("sys-aws", "manual", "critical", "")
	var got []string
	h.answer(endOfDay.Add(3*time.Hour), "sys-aws", "sam", humantask.ActionRemoved, "too early", &got)
	h.answer(endOfDay.Add(7*time.Hour), "sys-aws", "sam", humantask.ActionRemoved, "removed IAM user", &got)
	st, err := h.run("sam")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "sam refused") || got[1] != "sam completed" {
		t.Fatalf("answers %v: the officer may act only once escalated to", got)
	}
	taskID := removalTask("sys-aws")
	// Opened 09:00 on the last day, reminded hourly until completed at 07:00 the next day.
	if n := h.count(`SELECT count(*) FROM task_events WHERE task_id = $1 AND kind = 'reminder'`, taskID); n < 15 {
		t.Errorf("%d reminders, want hourly ones", n)
	}
	h2 := &policytest.Harness{T: t, DB: h.db}
	if to := policytest.EscalatedTo(h2, taskID, 1); !slices.Equal(to, []string{"omar"}) {
		t.Errorf("escalation 1 to %v, want the owner's manager omar", to)
	}
	if to := policytest.EscalatedTo(h2, taskID, 2); !slices.Equal(to, []string{"sam"}) {
		t.Errorf("escalation 2 to %v, want the security officer sam", to)
	}
	r := h.removals()["sys-aws"]
	if r.By != "sam" || r.Met || !r.At.Equal(endOfDay.Add(7*time.Hour)) {
		t.Errorf("late removal evidence %+v", r)
	}
	if st.Systems[0].Met {
		t.Errorf("status says the deadline was met: %+v", st.Systems[0])
	}
}

// Cancel: somebody not up the chain is refused; the manager cancels with a
// reason; the owner's open task is cancelled and the run ends cancelled,
// recorded with who and why.
func TestCancelByManager(t *testing.T) {
	h := newHarness(t)
	h.system("sys-git", "manual", "high", "")
	var got []string
	cancelAt := func(d time.Duration, req CancelRequest) {
		h.env.RegisterDelayedCallback(func() {
			h.env.UpdateWorkflow(UpdateCancel, "c-"+req.By, &testsuite.TestUpdateCallback{
				OnAccept:   func() {},
				OnReject:   func(err error) { got = append(got, req.By+" refused: "+err.Error()) },
				OnComplete: func(any, error) { got = append(got, req.By+" cancelled") },
			}, req)
		}, d)
	}
	cancelAt(time.Hour, CancelRequest{By: "eve", Reason: "oops"})
	cancelAt(2*time.Hour, CancelRequest{By: "mo", Reason: ""})
	cancelAt(3*time.Hour, CancelRequest{By: "ceo", Reason: "rehired: stays on"})
	st, err := h.run("mo")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.Contains(got[0], "eve may not cancel") || !strings.Contains(got[1], "needs a reason") || got[2] != "ceo cancelled" {
		t.Fatalf("answers %v", got)
	}
	if st.Stage != act.StatusCancelled || st.CancelledBy != "ceo" {
		t.Errorf("status %+v", st)
	}
	if n := h.count(`SELECT count(*) FROM offboardings WHERE status = 'cancelled' AND closed_by = 'ceo' AND close_note = 'rehired: stays on'`); n != 1 {
		t.Errorf("cancellation not recorded")
	}
	if n := h.count(`SELECT count(*) FROM tasks WHERE status = 'cancelled' AND id = $1`, removalTask("sys-git")); n != 1 {
		t.Errorf("the owner's task was not cancelled")
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE action = 'offboarding.cancelled' AND actor = 'ceo'`); n != 1 {
		t.Errorf("cancellation not audited")
	}
}

// Someone who is neither up the chain, an officer nor the HR feed is
// refused with the reason, and nothing is recorded.
func TestNonManagerRefused(t *testing.T) {
	h := newHarness(t)
	h.system("sys-git", "manual", "high", "")
	_, err := h.run("eve")
	reason, ok := refusal.Reason(err)
	if !ok || !strings.Contains(reason, "eve may not offboard lee: only lee's managers (mo, ceo), a security officer (sam) or the HR feed may") {
		t.Fatalf("error %v, want the refusal naming who may", err)
	}
	if n := h.count(`SELECT count(*) FROM offboardings`); n != 0 {
		t.Errorf("%d offboardings recorded for a refused start", n)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if err := Validate(t.Context(), h.db.App, Input{PersonID: "lee", LastDay: today, StartedBy: "eve"}); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("Validate admitted eve: %v, want ErrNotAllowed", err)
	}
	for _, by := range []string{"mo", "ceo", "sam", HRFeed} {
		if err := Validate(t.Context(), h.db.App, Input{PersonID: "lee", LastDay: today, StartedBy: by}); err != nil {
			t.Errorf("Validate refused %s: %v", by, err)
		}
	}
}

// Validate, which the starter and the portal share: a last day that is not
// a date, or more than MaxLastDayAgo days back, and a person who left and
// was offboarded already, are refused saying so; none is ErrNotAllowed.
func TestValidateRefusesBadDaysAndThoseOffboardedAlready(t *testing.T) {
	db := testenv.Postgres(t)
	seed(t, db)
	now := time.Now().UTC()
	day := func(days int) string { return now.AddDate(0, 0, days).Format(time.DateOnly) }
	for _, c := range []struct{ lastDay, want string }{
		{"18/12/2026", `last day "18/12/2026" is not a date such as 2026-12-18`},
		{day(-MaxLastDayAgo - 1), "is more than 30 days ago (the earliest is " + day(-MaxLastDayAgo) + ")"},
	} {
		err := Validate(t.Context(), db.App, Input{PersonID: "lee", LastDay: c.lastDay, StartedBy: "mo"})
		if reason, ok := refusal.Reason(err); !ok || !strings.Contains(reason, c.want) || errors.Is(err, ErrNotAllowed) {
			t.Errorf("last day %s: %v, want a refusal containing %q", c.lastDay, err, c.want)
		}
	}
	if err := Validate(t.Context(), db.App, Input{PersonID: "lee", LastDay: day(-MaxLastDayAgo), StartedBy: "mo"}); err != nil {
		t.Errorf("last day %d days back refused: %v", MaxLastDayAgo, err)
	}
	db.Owner.MustExec(`UPDATE people SET end_date = $1 WHERE id = 'lee'`, day(-2))
	db.Owner.MustExec(`INSERT INTO offboardings (run_id, workflow_id, person_id, last_day, started_by, status, closed_at)
			VALUES ('r1', 'offboarding/lee', 'lee', $1, 'mo', 'completed', $2)`, day(-2), now.Add(-time.Hour))
	err := Validate(t.Context(), db.App, Input{PersonID: "lee", LastDay: day(0), StartedBy: "mo"})
	if reason, ok := refusal.Reason(err); !ok || reason != "lee left on "+day(-2)+" and was already offboarded (completed "+
		now.Add(-time.Hour).Format(time.DateOnly)+"): there is no access left to remove" {
		t.Errorf("offboarded already: %v", err)
	}
	// Rehired: the end date cleared, a new offboarding may start.
	db.Owner.MustExec(`UPDATE people SET end_date = NULL WHERE id = 'lee'`)
	if err := Validate(t.Context(), db.App, Input{PersonID: "lee", LastDay: day(0), StartedBy: "mo"}); err != nil {
		t.Errorf("rehired lee refused: %v", err)
	}
}

// The leaver's open tasks elsewhere go to their manager once the last day ends.
// The leaver's open tasks go to their manager, and their pending
// acknowledgements close as left (recorded), not reminded again.
func TestLeaversOpenTasksGoToTheirManager(t *testing.T) {
	h := newHarness(t)
	h.db.Owner.MustExec(`INSERT INTO campaigns (id, kind, title, reason, started_by, due_at, control_ids)
			VALUES ('campaign/acknowledgement/x', 'acknowledgement', 'Read and accept', 'test', 'test', '2027-01-15', '{personnel-acknowledge-policies}');
		INSERT INTO assignments (campaign_id, person_id, due_at) VALUES ('campaign/acknowledgement/x', 'lee', '2027-01-15')`)
	h.db.Owner.MustExec(`INSERT INTO tasks (id, assignee_id, subject, actions, parent_ref, due_at) VALUES
		('task/policy-review/2026/lee', 'lee', 'Review the policies', '{done}', 'policy-review/2026', '2027-01-15'),
		('task/done-already', 'lee', 'Old', '{done}', 'x', '2026-01-01')`)
	h.db.Owner.MustExec(`UPDATE tasks SET status = 'cancelled' WHERE id = 'task/done-already'`)
	var signalled []humantask.ReassignRequest
	h.env.OnSignalExternalWorkflow("default-test-namespace", "task/policy-review/2026/lee", "", humantask.SignalReassign, humantask.ReassignRequest{
		To: "mo", By: ID("lee"), Reason: "lee has left (last day " + lastDay + ")"}).Return(func(_, _, _, _ string, arg any) error {
		signalled = append(signalled, arg.(humantask.ReassignRequest))
		return nil
	})
	st, err := h.run("mo")
	if err != nil {
		t.Fatal(err)
	}
	if len(signalled) != 1 || !slices.Equal(st.Reassigned, []string{"task/policy-review/2026/lee"}) {
		t.Fatalf("reassigned %v, signals %v", st.Reassigned, signalled)
	}
	if n := h.count(`SELECT count(*) FROM assignments WHERE person_id = 'lee' AND status = 'left'`); n != 1 {
		t.Error("the leaver's pending acknowledgement is not closed as left")
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE action = 'campaign.left' AND subject = 'campaign/acknowledgement/x'
		AND actor = $1 AND control_id = 'personnel-acknowledge-policies'`, ID("lee")); n != 1 {
		t.Error("closing the leaver's assignment is not audited by the offboarding")
	}
}
