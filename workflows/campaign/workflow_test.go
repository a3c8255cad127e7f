package campaign

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/workflows"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func clientOptions(id string) client.StartWorkflowOptions { return client.StartWorkflowOptions{ID: id} }

func acknowledgement(due, remind time.Duration, steps ...workflows.EscalationStep) Input {
	in := Input{Kind: act.KindAcknowledgement, StartedBy: "sam", Reason: "test"}
	in.Process, in.DuePeriod, in.RemindEvery, in.Escalation = act.ProcessAcknowledgement, due, remind, steps
	in.ControlIDs = []string{}
	return in
}

// Everyone active is assigned once and told once; reminders go every
// remind_every to whoever is still pending, and stop for who completed.
func TestRemindersOnCadence(t *testing.T) {
	w := newWorld(t, start)
	id := "campaign/acknowledgement/reminders"
	w.at(4*day, func() { w.complete(id, "ann") })
	// Everyone else completes on day 10, after the third reminder.
	w.at(10*day, func() {
		for _, p := range []string{"sam", "mia", "bob", "sal", "cat"} { // Lee left on day 5
			w.complete(id, p)
		}
	})
	st, err := w.run(id, acknowledgement(14*day, 3*day))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != StageClosed || st.Reminders != 3 {
		t.Errorf("status %+v, want closed after 3 reminders", st)
	}
	// Nia starts on day 7: not in a campaign opened before.
	if n := w.count(`SELECT count(*) FROM assignments WHERE campaign_id = $1`, id); n != 7 {
		t.Errorf("%d assignments, want 7 (everyone started and not left)", n)
	}
	if got := w.mailsTo("ann@example.com"); len(got) != 2 || !strings.HasPrefix(got[0], "Read and accept") {
		t.Errorf("Ann (completed on day 4) got %q, want the first message and the day-3 reminder only", got)
	}
	got := w.mailsTo("bob@example.com")
	if len(got) != 4 || !strings.HasPrefix(got[1], "Reminder: ") || !strings.HasPrefix(got[3], "Reminder: ") {
		t.Errorf("Bob got %q, want the first message and reminders on days 3, 6 and 9", got)
	}
	reminders := w.acts.DB
	var at []time.Time
	if err := reminders.Select(&at, `SELECT DISTINCT a.at FROM audit_log a WHERE action = 'campaign.notified' ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	if len(at) != 4 {
		t.Errorf("%d notification batches audited, want 4 (assigned and 3 reminders)", len(at))
	}
	if body := w.bodyTo("bob@example.com", "Read and accept"); !strings.Contains(body, "Acceptable Use Policy, version 2026.1") ||
		!strings.Contains(body, "https://comply.example.com/a/") {
		t.Errorf("the first message does not name the version and the link:\n%s", body)
	}
	if n := w.count(`SELECT count(*) FROM campaigns WHERE id = $1 AND closed_at IS NOT NULL`, id); n != 1 {
		t.Error("the campaign is not recorded closed")
	}
}

// After the due date plus each step's delay: each manager gets ONE message
// listing all their overdue reports, then the officer one with the counts
// per department and the list.
func TestEscalationDigests(t *testing.T) {
	w := newWorld(t, start)
	id := "campaign/acknowledgement/digests"
	w.at(2*day, func() {
		for _, p := range []string{"sam", "mia", "sal"} {
			w.complete(id, p)
		}
	})
	w.at(20*day, func() {
		for _, p := range []string{"ann", "bob", "cat"} {
			w.complete(id, p)
		}
	})
	_, err := w.run(id, acknowledgement(7*day, 0,
		workflows.EscalationStep{After: day, To: workflows.EscalateToManager},
		workflows.EscalationStep{After: 3 * day, To: "role:security_officer"}))
	if err != nil {
		t.Fatal(err)
	}
	mia := w.mailsTo("mia@example.com")
	if len(mia) != 2 || !strings.HasPrefix(mia[1], "Overdue: 2 of your reports") {
		t.Fatalf("Mia got %q, want her own first message and one digest for her 2 reports", mia)
	}
	body := w.bodyTo("mia@example.com", "Overdue")
	if !strings.Contains(body, "Ann Engineer (ann)") || !strings.Contains(body, "Bob Engineer (bob)") {
		t.Errorf("Mia's digest does not list both reports:\n%s", body)
	}
	// Lee left on day 5, before the escalation on day 8: only Cat is Sal's.
	if sal := w.mailsTo("sal@example.com"); len(sal) != 2 || !strings.HasPrefix(sal[1], "Overdue: 1 of your reports") {
		t.Errorf("Sal got %q, want one digest for Cat", sal)
	}
	officer := w.bodyTo("sam@example.com", "Overdue: 3 people")
	for _, want := range []string{"- Engineering: 2", "- Sales: 1", "Cat Seller (cat), Sales"} {
		if !strings.Contains(officer, want) {
			t.Errorf("the officer's digest lacks %q:\n%s", want, officer)
		}
	}
	if n := w.count(`SELECT count(*) FROM assignments WHERE campaign_id = $1 AND escalated = 2`, id); n != 3 {
		t.Errorf("%d people escalated to step 2, want 3", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_log WHERE action = 'campaign.escalated' AND subject = $1`, id); n != 2 {
		t.Errorf("%d escalations audited, want 2", n)
	}
}

// A person who leaves mid-campaign is no longer reminded; their open
// assignment closes as left, recorded.
func TestLeaverMidCampaign(t *testing.T) {
	w := newWorld(t, start)
	id := "campaign/acknowledgement/leaver"
	w.at(day, func() {
		for _, p := range []string{"sam", "mia", "ann", "bob", "sal", "cat"} {
			w.complete(id, p)
		}
	})
	st, err := w.run(id, acknowledgement(14*day, 2*day))
	if err != nil {
		t.Fatal(err)
	}
	// Reminded on days 2 and 4; gone on day 5; the day-6 round closes her.
	if got := w.mailsTo("lee@example.com"); len(got) != 3 {
		t.Errorf("Lee got %d messages (%q), want the first and 2 reminders before leaving", len(got), got)
	}
	if st.Counts.Left != 1 || st.Counts.Pending != 0 || st.Counts.Completed != 6 {
		t.Errorf("counts %+v, want 6 completed, 1 left", st.Counts)
	}
	if n := w.count(`SELECT count(*) FROM audit_log WHERE action = 'campaign.left' AND detail->'people' ? 'lee'`); n != 1 {
		t.Error("Lee's leaving is not audited")
	}
}

// A new hire's cohort waits for the start date, then assigns them, due
// new_hire_within after it.
func TestNewHireDeadline(t *testing.T) {
	w := newWorld(t, start)
	nia := start.Add(7 * day).Truncate(day)
	id := NewHiresID("acknowledge-policies", nia)
	var before []string
	w.at(6*day, func() { before = w.mailsTo("nia@example.com") })
	w.at(9*day, func() { w.complete(id, "nia") })
	in := acknowledgement(14*day, 0)
	in.People, in.DueFromStart, in.NotBefore = []string{"nia"}, true, nia
	if _, err := w.run(id, in); err != nil {
		t.Fatal(err)
	}
	if len(before) != 0 {
		t.Errorf("Nia was mailed before her first day: %q", before)
	}
	var due time.Time
	if err := w.db.Owner.Get(&due, `SELECT due_at FROM assignments WHERE campaign_id = $1 AND person_id = 'nia'`, id); err != nil {
		t.Fatal(err)
	}
	if want := nia.Add(14 * day); !due.Equal(want) {
		t.Errorf("Nia is due %s, want %s (14 days after her start date)", due, want)
	}
	if got := w.mailsTo("nia@example.com"); len(got) != 1 || !strings.Contains(got[0], nia.Add(14*day).Format("2 Jan 2006")) {
		t.Errorf("Nia got %q, want one message naming her due date", got)
	}
}

// A late joiner of a cohort is assigned and told like the rest; nobody is
// assigned or told twice.
func TestCohortLateJoiner(t *testing.T) {
	w := newWorld(t, start)
	id := "campaign/new-hires/x/2026-03-02"
	w.at(day, func() { w.env.SignalWorkflow(SignalAddPeople, []string{"bob", "ann"}) })
	w.at(3*day, func() {
		for _, p := range []string{"ann", "bob"} {
			w.complete(id, p)
		}
	})
	in := acknowledgement(14*day, 0)
	in.People = []string{"ann"}
	if _, err := w.run(id, in); err != nil {
		t.Fatal(err)
	}
	if n := w.count(`SELECT count(*) FROM assignments WHERE campaign_id = $1`, id); n != 2 {
		t.Errorf("%d assignments, want Ann and Bob once each", n)
	}
	if got := w.mailsTo("ann@example.com"); len(got) != 1 {
		t.Errorf("Ann got %q, want one message", got)
	}
	if got := w.mailsTo("bob@example.com"); len(got) != 1 {
		t.Errorf("Bob got %q, want one message", got)
	}
}

// A long campaign continues as new with what it has done: the next run
// sends the next reminder, not the first again.
func TestContinueAsNewKeepsCount(t *testing.T) {
	w := newWorld(t, start)
	id := "campaign/acknowledgement/long"
	in := acknowledgement(30*day, 2*day)
	in.RoundsPerRun = 4 // daily checks on days 1 and 3, reminders on days 2 and 4
	_, err := w.run(id, in)
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("got %v, want a continue-as-new after 4 rounds", err)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.State.Reminders != 2 {
		t.Fatalf("carried state %+v, want 2 reminders done", next.State)
	}
	w.newEnv(start.Add(4 * day))
	w.at(day, func() {
		for _, p := range []string{"sam", "mia", "ann", "bob", "sal", "cat"} { // Lee left on day 5
			w.complete(id, p)
		}
	})
	if _, err := w.run(id, next); err != nil {
		t.Fatal(err)
	}
	got := w.mailsTo("bob@example.com")
	if len(got) != 3 || slices.ContainsFunc(got[1:], func(s string) bool { return !strings.HasPrefix(s, "Reminder: ") }) {
		t.Errorf("Bob got %q, want the first message and 2 reminders, none again after the continue-as-new", got)
	}
}
