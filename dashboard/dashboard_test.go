package dashboard_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/dashboard"
)

// keys is each item as kind:id[:person], with its marks.
func keys(items []dashboard.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		k := it.ID
		if it.Person != "" {
			k += ":" + it.Person
		}
		if it.Overdue {
			k += " overdue"
		}
		if it.Escalated() {
			k += fmt.Sprintf(" escalated×%d", it.Escalations)
		}
		out[i] = k
	}
	return out
}

func TestOpenItemsListsEveryOpenItemWithItsMarks(t *testing.T) {
	now := time.Now().UTC()
	db := seed(t, now)
	page, err := dashboard.OpenItems(context.Background(), db.App, dashboard.Filter{}, nil, 50, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"t-off overdue escalated×1", "campaign/acknowledgement/1:cal overdue", "t-apr overdue", "t-cr", "t-vend",
		"campaign/acknowledgement/1:ann escalated×1"}
	if got := keys(page.Items); !slices.Equal(got, want) {
		t.Fatalf("items:\n got %q\nwant %q", got, want)
	}
	if page.Next != nil {
		t.Errorf("one page holds all six, yet Next = %v", page.Next)
	}
	first, asg := page.Items[0], page.Items[1]
	if first.AssigneeName != "Ann Report" || first.Process != "offboarding" || first.Title != "Remove Dan's access to Git" ||
		!slices.Equal(first.Controls, []string{"c1"}) {
		t.Errorf("t-off: %+v", first)
	}
	if asg.Kind != dashboard.KindAssignment || asg.AssigneeID != "cal" || asg.Process != "policy-acknowledgement" || asg.Title != "Annual acknowledgement" {
		t.Errorf("cal's assignment: %+v", asg)
	}
	procs := map[string]string{}
	for _, it := range page.Items {
		procs[it.ID] = it.Process
	}
	if procs["t-cr"] != "policy-change-request" || procs["t-vend"] != "vendor-review" || procs["t-apr"] != "annual-policy-review" {
		t.Errorf("processes: %v", procs)
	}
}

func TestOpenItemsFilters(t *testing.T) {
	now := time.Now().UTC()
	db := seed(t, now)
	for _, c := range []struct {
		name string
		f    dashboard.Filter
		want string
	}{
		{"process offboarding", dashboard.Filter{Process: "offboarding"}, "t-off"},
		{"process acknowledgement", dashboard.Filter{Process: "policy-acknowledgement"}, "campaign/acknowledgement/1:cal campaign/acknowledgement/1:ann"},
		{"process change request", dashboard.Filter{Process: "policy-change-request"}, "t-cr"},
		{"process without items", dashboard.Filter{Process: "security-training"}, ""},
		{"control c1", dashboard.Filter{Control: "c1"}, "t-off t-cr"},
		{"control c2", dashboard.Filter{Control: "c2"}, "campaign/acknowledgement/1:cal t-cr t-vend campaign/acknowledgement/1:ann"},
		{"person ann", dashboard.Filter{Person: "ann"}, "t-off campaign/acknowledgement/1:ann"},
		{"mia's reports", dashboard.Filter{ReportsOf: "mia"}, "t-off campaign/acknowledgement/1:cal t-apr t-vend campaign/acknowledgement/1:ann"},
		{"bob's reports", dashboard.Filter{ReportsOf: "bob"}, "campaign/acknowledgement/1:cal t-vend"},
		{"mia's reports, control c2", dashboard.Filter{ReportsOf: "mia", Control: "c2"}, "campaign/acknowledgement/1:cal t-vend campaign/acknowledgement/1:ann"},
		{"mia's reports, zed", dashboard.Filter{ReportsOf: "mia", Person: "zed"}, ""},
		{"ann's reports (none)", dashboard.Filter{ReportsOf: "ann"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			page, err := dashboard.OpenItems(context.Background(), db.App, c.f, nil, 50, now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range page.Items {
				k := it.ID
				if it.Person != "" {
					k += ":" + it.Person
				}
				got = append(got, k)
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), c.want)
			}
		})
	}
}

func TestOpenItemsRefusesAnUnknownProcess(t *testing.T) {
	now := time.Now().UTC()
	db := seed(t, now)
	_, err := dashboard.OpenItems(context.Background(), db.App, dashboard.Filter{Process: "dr-tests"}, nil, 50, now)
	if err == nil || !strings.Contains(err.Error(), `process "dr-tests" is not one of`) {
		t.Fatalf("err = %v", err)
	}
}

// Walking the pages one or two items at a time gives the one-page list,
// also when tasks and assignments share a due time (the keyset's ties).
func TestOpenItemsPagesWalkTheWholeList(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	db := seed(t, now)
	tie := now.Add(10 * 24 * time.Hour)
	ownerExec(t, db, `
		INSERT INTO tasks (id, assignee_id, subject, actions, parent_ref, due_at) VALUES
			('t-tie-b', 'ann', 'Tie B', '{done}', 'offboarding/x', $1), ('t-tie-a', 'bob', 'Tie A', '{done}', 'offboarding/x', $1);
		INSERT INTO campaigns (id, kind, title, reason, started_by, due_at) VALUES ('campaign/training/2', 'training', 'Training', 'test', 'sam', $1);
		INSERT INTO assignments (campaign_id, person_id, due_at) VALUES ('campaign/training/2', 'zed', $1), ('campaign/training/2', 'ann', $1),
			('campaign/acknowledgement/1', 'mia', $1);`, tie)
	ctx := context.Background()
	all, err := dashboard.OpenItems(ctx, db.App, dashboard.Filter{}, nil, 50, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 11 {
		t.Fatalf("%d items, want 11: %q", len(all.Items), keys(all.Items))
	}
	wantTail := []string{"campaign/acknowledgement/1:mia", "campaign/training/2:ann", "campaign/training/2:zed", "t-tie-a", "t-tie-b"}
	if got := keys(all.Items[6:]); !slices.Equal(got, wantTail) {
		t.Errorf("ties in order: got %q, want %q", got, wantTail)
	}
	for _, size := range []int{1, 2, 4} {
		var walked []string
		var after *dashboard.Cursor
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatalf("size %d: more than 20 pages", size)
			}
			page, err := dashboard.OpenItems(ctx, db.App, dashboard.Filter{}, after, size, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > size {
				t.Fatalf("size %d: a page of %d", size, len(page.Items))
			}
			walked = append(walked, keys(page.Items)...)
			if page.Next == nil {
				break
			}
			// The cursor goes through the URL.
			c, err := dashboard.ParseCursor(page.Next.String())
			if err != nil {
				t.Fatal(err)
			}
			after = &c
		}
		if !slices.Equal(walked, keys(all.Items)) {
			t.Errorf("size %d: walked %q\nwant %q", size, walked, keys(all.Items))
		}
	}
}

func TestParseCursorRefusesWhatItDidNotMake(t *testing.T) {
	for _, s := range []string{"", "abc", "not base64!", dashboard.Cursor{Kind: "task"}.String(),
		dashboard.Cursor{Kind: "other", ID: "x"}.String(), dashboard.Cursor{Kind: "assignment", ID: "c"}.String()} {
		if _, err := dashboard.ParseCursor(s); err == nil {
			t.Errorf("ParseCursor(%q) accepted", s)
		}
	}
	c := dashboard.Cursor{Due: time.Date(2026, 3, 4, 5, 6, 7, 891000, time.UTC), Kind: "assignment", ID: "campaign/x/1", Person: "ann"}
	if got, err := dashboard.ParseCursor(c.String()); err != nil || got != c {
		t.Errorf("round trip: %+v, %v", got, err)
	}
}

func TestCountOpen(t *testing.T) {
	now := time.Now().UTC()
	db := seed(t, now)
	ctx := context.Background()
	c, err := dashboard.CountOpen(ctx, db.App, dashboard.Filter{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Total != (dashboard.Tally{Open: 6, Overdue: 3, Escalated: 2}) {
		t.Errorf("total %+v", c.Total)
	}
	var per []string
	for _, p := range c.PerProcess {
		per = append(per, fmt.Sprintf("%s %d/%d/%d", p.Process, p.Open, p.Overdue, p.Escalated))
	}
	want := "policy-change-request 1/0/0, annual-policy-review 1/1/0, policy-acknowledgement 2/1/1, offboarding 1/1/1, vendor-review 1/0/0"
	if strings.Join(per, ", ") != want {
		t.Errorf("per process:\n got %s\nwant %s", strings.Join(per, ", "), want)
	}
	team, err := dashboard.CountOpen(ctx, db.App, dashboard.Filter{ReportsOf: "bob"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if team.Total != (dashboard.Tally{Open: 2, Overdue: 1}) {
		t.Errorf("bob's team: %+v", team.Total)
	}
}

func TestCampaignProgress(t *testing.T) {
	now := time.Now().UTC()
	db := seed(t, now)
	ownerExec(t, db, `INSERT INTO campaigns (id, kind, title, reason, started_by, due_at, closed_at) VALUES
		('campaign/old', 'training', 'Old', 'test', 'sam', $1::timestamptz - interval '90 days', $1::timestamptz - interval '60 days');
		INSERT INTO assignments (campaign_id, person_id, due_at, status) VALUES ('campaign/old', 'ann', $1::timestamptz - interval '90 days', 'completed')`, now)
	ctx := context.Background()
	cs, err := dashboard.Campaigns(ctx, db.App, dashboard.Filter{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 {
		t.Fatalf("campaigns %+v, want the open one only", cs)
	}
	c := cs[0]
	if c.ID != "campaign/acknowledgement/1" || c.Assigned != 4 || c.Completed != 1 || c.Left != 1 || c.Pending != 2 || c.Overdue != 1 || c.Percent() != 33 {
		t.Errorf("progress %+v, %d%%", c, c.Percent())
	}
	team, err := dashboard.Campaigns(ctx, db.App, dashboard.Filter{ReportsOf: "bob"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(team) != 1 || team[0].Assigned != 1 || team[0].Overdue != 1 || team[0].Percent() != 0 {
		t.Errorf("bob's team: %+v", team)
	}
}

func TestLateRemovals(t *testing.T) {
	now := time.Now().UTC()
	db := seed(t, now)
	seedOffboarding(t, db, now)
	rs, err := dashboard.LateRemovals(context.Background(), db.App, now)
	if err != nil {
		t.Fatal(err)
	}
	endOfLastDay := now.AddDate(0, 0, -9).Truncate(24 * time.Hour)
	if len(rs) != 2 {
		t.Fatalf("late removals %+v, want git (waiting) and crm (removed late)", rs)
	}
	git, crm := rs[0], rs[1]
	if git.SystemID != "git" || git.RemovedAt != nil || !git.Deadline.Equal(endOfLastDay.AddDate(0, 0, 1)) || git.PersonName != "Dan Leaver" {
		t.Errorf("git: %+v", git)
	}
	if crm.SystemID != "crm" || crm.RemovedAt == nil || crm.RemovedBy != "olga" || crm.RunID != "run-1" {
		t.Errorf("crm: %+v", crm)
	}
}

func TestLapsedVendors(t *testing.T) {
	now := time.Now().UTC()
	db := seed(t, now)
	ownerExec(t, db, `
		INSERT INTO vendors (id, name, contact_email, owner_id, criticality) VALUES
			('acme', 'Acme', 'a@acme.example', 'olga', 'high'), ('covered', 'Covered', 'c@x.example', 'olga', 'low'),
			('newco', 'NewCo', 'n@x.example', 'olga', 'medium');
		INSERT INTO vendor_reviews (id, vendor_id, cycle, status, requested_at, due_at, reviewer_id, cadence_months, request_before_days, coverage_until, created_at) VALUES
			('vendor-review/acme/2025', 'acme', '2025', 'accepted', $1::timestamptz - interval '400 days', $1::timestamptz - interval '380 days', 'sam', 12, 30, ($1::timestamptz - interval '20 days')::date, $1::timestamptz - interval '400 days'),
			('vendor-review/acme/2026', 'acme', '2026', 'requested', $1::timestamptz - interval '30 days', $1::timestamptz - interval '2 days', 'sam', 12, 30, NULL, $1::timestamptz - interval '30 days'),
			('vendor-review/covered/2026', 'covered', '2026', 'accepted', $1::timestamptz - interval '30 days', $1::timestamptz - interval '10 days', 'sam', 12, 30, ($1::timestamptz + interval '300 days')::date, $1::timestamptz - interval '30 days')`, now)
	vs, err := dashboard.LapsedVendors(context.Background(), db.App, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].ID != "newco" || vs[1].ID != "acme" {
		t.Fatalf("lapsed %+v, want newco (never reviewed) then acme", vs)
	}
	if vs[0].CoverageUntil != nil || vs[0].OpenReview != "" {
		t.Errorf("newco: %+v", vs[0])
	}
	acme := vs[1]
	if acme.CoverageUntil == nil || acme.OpenReview != "vendor-review/acme/2026" || acme.OpenStatus != "requested" || !acme.OpenOverdue || acme.OwnerName != "Olga Owner" {
		t.Errorf("acme: %+v", acme)
	}
}

func TestAnnualPolicyReviewState(t *testing.T) {
	now := time.Now().UTC()
	db := seed(t, now)
	ownerExec(t, db, `INSERT INTO policy_reviews (id, officer_id, status, round, created_at, signed_off_at) VALUES
		('annual-policy-review/apr', 'sam', 'in-review', 2, $1::timestamptz - interval '3 days', NULL),
		('annual-policy-review/old', 'sam', 'signed-off', 1, $1::timestamptz - interval '800 days', $1::timestamptz - interval '780 days')`, now)
	ctx := context.Background()
	states, err := dashboard.Annual(ctx, db.App, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != len(dashboard.AnnualQueries) || states[0].Process != "annual-policy-review" {
		t.Fatalf("states %+v", states)
	}
	s := states[0]
	if s.DoneThisYear || len(s.Runs) != 1 {
		t.Fatalf("policy review state %+v, want the open run only, not done this year", s)
	}
	r := s.Runs[0]
	if r.ID != "annual-policy-review/apr" || r.Status != "in-review" || r.Round != 2 || r.OwnerName != "Sam Officer" || r.OpenTasks != 1 || r.Overdue != 1 {
		t.Errorf("run %+v", r)
	}
	ownerExec(t, db, `UPDATE policy_reviews SET status = 'signed-off', signed_off_at = $1 WHERE id = 'annual-policy-review/apr'`, now)
	if s, err = dashboard.PolicyReviewState(ctx, db.App, now.Add(time.Minute)); err != nil || !s.DoneThisYear {
		t.Errorf("after the sign-off: %+v, %v", s, err)
	}
}

// The annual risk assessment's section: an open assessment with its open
// owner tasks, then done this year once signed off.
func TestAnnualRiskAssessmentState(t *testing.T) {
	now := time.Now().UTC()
	db := seed(t, now)
	ownerExec(t, db, `INSERT INTO risk_assessments (id, year, status, risk_tolerance, opened_at) VALUES
		('annual-risk-assessment/2026', 2026, 'open', 12, $1::timestamptz - interval '2 days');
		INSERT INTO tasks (id, assignee_id, subject, actions, parent_ref, due_at) VALUES
			('t-risk-ann', 'ann', 'Re-score your risks', '{submit}', 'annual-risk-assessment/2026', $1::timestamptz - interval '1 hour'),
			('t-risk-bob', 'bob', 'Re-score your risks', '{submit}', 'annual-risk-assessment/2026', $1::timestamptz + interval '5 days')`, now)
	ctx := context.Background()
	states, err := dashboard.Annual(ctx, db.App, now)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(states, func(s dashboard.AnnualState) bool { return s.Process == "annual-risk-assessment" })
	if i < 0 {
		t.Fatalf("no risk assessment section in %+v", states)
	}
	s := states[i]
	if s.DoneThisYear || len(s.Runs) != 1 {
		t.Fatalf("risk assessment state %+v, want the open run, not done", s)
	}
	if r := s.Runs[0]; r.ID != "annual-risk-assessment/2026" || r.Status != "open" || r.OpenTasks != 2 || r.Overdue != 1 {
		t.Errorf("run %+v, want 2 open tasks, 1 overdue", r)
	}
	ownerExec(t, db, `UPDATE risk_assessments SET status = 'signed-off', signed_off_by = 'sam', signed_off_at = $1`, now)
	if s, err = dashboard.RiskAssessmentState(ctx, db.App, now.Add(time.Minute)); err != nil || !s.DoneThisYear || s.Runs[0].OwnerName != "Sam Officer" {
		t.Errorf("after the sign-off: %+v, %v", s, err)
	}
}
