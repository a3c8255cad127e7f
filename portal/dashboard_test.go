package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
)

// dashboardSystem is the portal's handler on a seeded database, asked as a
// principal put on the request's context (the sign-in's job in the portal).
type dashboardSystem struct {
	db *testenv.DB
	h  http.Handler
}

// newDashboardSystem seeds: sam the officer; mia manages ann and bob, bob
// manages cal; zed is in nobody's team. Open: ann's overdue, escalated
// offboarding task (control c1), cal's vendor review task (c2), zed's
// change request task (c1, c2), bob's overdue annual review task; an
// acknowledgement campaign (c2) with ann pending, bob completed, cal
// pending overdue, zed left. Dan's offboarding has Git's removal waiting
// past its deadline; vendor Acme's report has lapsed.
func newDashboardSystem(t *testing.T) *dashboardSystem {
	t.Helper()
	db := testenv.Postgres(t)
	now := time.Now().UTC()
	for _, q := range []string{
		`INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'), ('mia', 'mia@example.com', 'Mia Manager'),
			('zed', 'zed@example.com', 'Zed Elsewhere'), ('dan', 'dan@example.com', 'Dan Leaver'), ('olga', 'olga@example.com', 'Olga Owner')`,
		`INSERT INTO people (id, email, name, manager_id) VALUES ('ann', 'ann@example.com', 'Ann Report', 'mia'),
			('bob', 'bob@example.com', 'Bob Lead', 'mia'), ('cal', 'cal@example.com', 'Cal Indirect', 'bob')`,
		`INSERT INTO controls (id, title) VALUES ('c1', 'Access removal'), ('c2', 'Vendor due diligence')`,
		`INSERT INTO tasks (id, assignee_id, subject, actions, control_ids, parent_ref, due_at) VALUES
			('t-off', 'ann', 'Remove Dan access to Git', '{done}', '{c1}', 'offboarding/dan', $1::timestamptz - interval '2 days'),
			('t-vend', 'cal', 'Review the SOC 2 report of Acme', '{approve}', '{c2}', 'vendor-review/acme/2026', $1::timestamptz + interval '3 days'),
			('t-cr', 'zed', 'Review change request', '{approve}', '{c1,c2}', 'change-request/access/abc', $1::timestamptz + interval '1 day'),
			('t-apr', 'bob', 'Review the access policy', '{approve}', '{}', 'annual-policy-review/apr', $1::timestamptz - interval '1 hour')`,
		`INSERT INTO task_events (task_id, event_key, kind) VALUES ('t-off', 'escalated/1', 'escalated')`,
		`INSERT INTO campaigns (id, kind, title, reason, started_by, control_ids, due_at)
			VALUES ('campaign/acknowledgement/1', 'acknowledgement', 'Annual acknowledgement', 'test', 'sam', '{c2}', $1::timestamptz + interval '5 days')`,
		`INSERT INTO assignments (campaign_id, person_id, due_at, status) VALUES
			('campaign/acknowledgement/1', 'ann', $1::timestamptz + interval '5 days', 'pending'),
			('campaign/acknowledgement/1', 'bob', $1::timestamptz + interval '5 days', 'completed'),
			('campaign/acknowledgement/1', 'cal', $1::timestamptz - interval '1 day', 'pending'),
			('campaign/acknowledgement/1', 'zed', $1::timestamptz + interval '5 days', 'left')`,
		`INSERT INTO offboarding_deadlines (criticality, deadline_after, remind_every, officer_after) VALUES ('high', '1 day', '4 hours', '1 day')`,
		`INSERT INTO systems (id, name, owner_id, removal_method, criticality) VALUES ('git', 'Git', 'olga', 'manual', 'high')`,
		`INSERT INTO offboardings (run_id, workflow_id, person_id, last_day, started_by) VALUES ('run-1', 'offboarding/dan', 'dan', ($1::timestamptz - interval '10 days')::date, 'mia')`,
		`INSERT INTO audit_log (actor, action, subject, detail) VALUES ('mia', 'offboarding.started', 'offboarding/dan', '{"run": "run-1", "systems": ["git"]}')`,
		`INSERT INTO vendors (id, name, contact_email, owner_id, criticality) VALUES ('acme', 'Acme', 'a@acme.example', 'olga', 'high')`,
		`INSERT INTO vendor_reviews (id, vendor_id, cycle, status, requested_at, due_at, reviewer_id, cadence_months, request_before_days, coverage_until)
			VALUES ('vendor-review/acme/2025', 'acme', '2025', 'accepted', $1::timestamptz - interval '400 days', $1::timestamptz - interval '380 days',
			        'sam', 12, 30, ($1::timestamptz - interval '20 days')::date)`,
		`INSERT INTO policy_reviews (id, officer_id, status) VALUES ('annual-policy-review/apr', 'sam', 'in-review')`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{now}
		}
		if _, err := db.Owner.Exec(q, args...); err != nil {
			t.Fatalf("seed: %v\n%s", err, q)
		}
	}
	srv := &Server{DB: db.App, Scoped: db.Portal, Logger: warnLogger()}
	h := srv.Handler()
	t.Cleanup(srv.Signatures.Close)
	return &dashboardSystem{db: db, h: h}
}

// warnLogger logs warnings and errors to stderr, where a failing test shows them.
func warnLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// get asks for target as p (no principal: nobody signed in) and answers
// the status and body.
func (s *dashboardSystem) get(t testing.TB, p *Principal, target string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if p != nil {
		r = r.WithContext(withPrincipal(r.Context(), *p))
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

var (
	officer  = &Principal{PersonID: "sam", Role: RoleOfficer}
	mia      = &Principal{PersonID: "mia", Role: RoleManager}
	bob      = &Principal{PersonID: "bob", Role: RoleManager}
	employee = &Principal{PersonID: "ann", Role: RoleEmployee}
)

var itemTitle = regexp.MustCompile(`<li class="item"><strong>([^<]*)</strong>([^\n]*)`)

// items is each listed item's title with its marks, in order.
func items(body string) []string {
	var out []string
	for _, m := range itemTitle.FindAllStringSubmatch(body, -1) {
		marks := ""
		if strings.Contains(m[2], "OVERDUE") {
			marks += " OVERDUE"
		}
		if strings.Contains(m[2], "ESCALATED") {
			marks += " ESCALATED"
		}
		out = append(out, m[1]+marks)
	}
	return out
}

func TestDashboardShowsEverythingOpen(t *testing.T) {
	s := newDashboardSystem(t)
	code, body := s.get(t, officer, "/dashboard")
	if code != http.StatusOK {
		t.Fatalf("GET /dashboard: %d %s", code, body)
	}
	want := []string{"Remove Dan access to Git OVERDUE ESCALATED", "Annual acknowledgement OVERDUE", "Review the access policy OVERDUE",
		"Review change request", "Review the SOC 2 report of Acme", "Annual acknowledgement"}
	if got := items(body); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("items:\n got %q\nwant %q", got, want)
	}
	for _, want := range []string{
		"<strong>6</strong> open", "3 overdue", "1 escalated", // the counts
		"Assigned to <a href=\"/dashboard?person=cal\">Cal Indirect</a>",                                 // the assignee, a link to their items
		"4 assigned · 1 completed · 2 pending · <span class=\"overdue\">1 overdue</span> · 1 left · 33%", // campaign progress
		`style="width:33%"`,            // its bar
		"Dan Leaver", "Git", "NOT YET", // the late removal
		"Acme", "lapsed", // the lapsed vendor
		"annual-policy-review/apr", "in-review", "Not done within the last year.", // the annual review
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard does not show %q", want)
		}
	}
}

func TestDashboardFiltersKeepTheirStateInTheURL(t *testing.T) {
	s := newDashboardSystem(t)
	for _, c := range []struct {
		query string
		want  []string
		shows string // the filter as the form shows it
	}{
		{"process=offboarding", []string{"Remove Dan access to Git OVERDUE ESCALATED"}, `<option value="offboarding" selected>`},
		{"control=c1", []string{"Remove Dan access to Git OVERDUE ESCALATED", "Review change request"}, `<option value="c1" selected>`},
		{"person=ann", []string{"Remove Dan access to Git OVERDUE ESCALATED", "Annual acknowledgement"}, "Assigned to Ann Report (ann)."},
		{"process=policy-acknowledgement&control=c2", []string{"Annual acknowledgement OVERDUE", "Annual acknowledgement"}, `<option value="c2" selected>`},
		{"process=security-training", nil, "Nothing open under this filter."},
	} {
		code, body := s.get(t, officer, "/dashboard?"+c.query)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.query, code, body)
		}
		if got := items(body); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q, want %q", c.query, got, c.want)
		}
		if !strings.Contains(body, c.shows) {
			t.Errorf("%s: the page does not show %q", c.query, c.shows)
		}
	}
}

var nextLink = regexp.MustCompile(`<a href="([^"]*)" rel="next">`)

// 60 more open offboarding tasks make two pages under process=offboarding;
// the next page's link keeps the filter and lists the rest.
func TestDashboardPagesKeepTheFilter(t *testing.T) {
	s := newDashboardSystem(t)
	if _, err := s.db.Owner.Exec(`INSERT INTO tasks (id, assignee_id, subject, actions, parent_ref, due_at)
		SELECT 'bulk-' || i, 'zed', 'Bulk ' || i, '{done}', 'offboarding/zed', now() + i * interval '1 minute' FROM generate_series(1, 60) i`); err != nil {
		t.Fatal(err)
	}
	_, first := s.get(t, officer, "/dashboard?process=offboarding")
	if n := len(items(first)); n != dashboardPageSize {
		t.Fatalf("first page: %d items, want %d", n, dashboardPageSize)
	}
	m := nextLink.FindStringSubmatch(first)
	if m == nil {
		t.Fatal("the first page has no next link")
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(next, "process=offboarding") || !strings.Contains(next, "after=") {
		t.Fatalf("next link %q does not keep the filter", next)
	}
	code, second := s.get(t, officer, next)
	if code != http.StatusOK {
		t.Fatalf("second page: %d %s", code, second)
	}
	got := items(second)
	if len(got) != 11 || got[0] != "Bulk 50" || got[10] != "Bulk 60" {
		t.Errorf("second page: %q", got)
	}
	if nextLink.MatchString(second) || !strings.Contains(second, `<a href="/dashboard?process=offboarding">First page</a>`) {
		t.Error("the last page should link to the first, not to a next one")
	}
}

func TestDashboardRefusesBadFilters(t *testing.T) {
	s := newDashboardSystem(t)
	for query, want := range map[string]string{
		"process=dr-tests": `process: process "dr-tests" is not one of`,
		"control=nope":     `control: control "nope" is not in the program`,
		"person=ghost":     `person: person "ghost" is not in the directory`,
		"after=garbage":    "after: not a page marker",
	} {
		code, body := s.get(t, officer, "/dashboard?"+query)
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("%s: %d %q, want 400 saying %q", query, code, body, want)
		}
	}
}

// refusals counts the audited refusals of GET path by person.
func (s *dashboardSystem) refusals(t *testing.T, person, path string) int {
	t.Helper()
	var n int
	if err := s.db.App.Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'portal.refused' AND actor = $1 AND subject = $2`,
		person, "GET "+path); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDashboardIsTheOfficers(t *testing.T) {
	s := newDashboardSystem(t)
	for _, p := range []*Principal{employee, mia} {
		if code, _ := s.get(t, p, "/dashboard"); code != http.StatusForbidden {
			t.Errorf("%s (%s): %d, want 403", p.PersonID, p.Role, code)
		}
		if n := s.refusals(t, p.PersonID, "/dashboard"); n != 1 {
			t.Errorf("%s: %d refusals audited, want 1", p.PersonID, n)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/dashboard?process=offboarding", nil)
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/signin?next=") {
		t.Errorf("nobody signed in: %d to %q, want 303 to the sign-in", w.Code, w.Header().Get("Location"))
	}
}

func TestTeamShowsTheManagersReportsOnly(t *testing.T) {
	s := newDashboardSystem(t)
	code, body := s.get(t, mia, "/team")
	if code != http.StatusOK {
		t.Fatalf("GET /team: %d %s", code, body)
	}
	// ann, bob and cal (bob's report); not zed's change request.
	want := []string{"Remove Dan access to Git OVERDUE ESCALATED", "Annual acknowledgement OVERDUE", "Review the access policy OVERDUE",
		"Review the SOC 2 report of Acme", "Annual acknowledgement"}
	if got := items(body); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("mia's team:\n got %q\nwant %q", got, want)
	}
	for _, want := range []string{"Open items of Mia Manager", "<strong>5</strong> open",
		"3 assigned · 1 completed · 2 pending", // the campaign, counting mia's reports only
		`href="/team?person=cal&amp;manager=mia"`} {
		if !strings.Contains(body, want) {
			t.Errorf("mia's team page does not show %q", want)
		}
	}
	if strings.Contains(body, "Late access removals") || strings.Contains(body, "Lapsed vendor") {
		t.Error("the team page shows the officer's sections")
	}

	// A team within her team, and a filter within it.
	if _, body := s.get(t, mia, "/team?manager=bob"); strings.Join(items(body), "|") != "Annual acknowledgement OVERDUE|Review the SOC 2 report of Acme" {
		t.Errorf("bob's team, asked by mia: %q", items(body))
	}
	if _, body := s.get(t, mia, "/team?person=ann&process=offboarding"); strings.Join(items(body), "|") != "Remove Dan access to Git OVERDUE ESCALATED" {
		t.Errorf("ann's offboarding items, asked by mia: %q", items(body))
	}
	// The officer may look at any manager's team.
	if _, body := s.get(t, officer, "/team?manager=mia"); len(items(body)) != 5 {
		t.Errorf("mia's team, asked by the officer: %q", items(body))
	}
}

func TestTeamRefusesOtherTeams(t *testing.T) {
	s := newDashboardSystem(t)
	if code, _ := s.get(t, bob, "/team?manager=mia"); code != http.StatusForbidden {
		t.Errorf("bob asking for his manager's team: %d, want 403", code)
	}
	if n := s.refusals(t, "bob", "/team"); n != 1 {
		t.Errorf("%d refusals of bob audited, want 1", n)
	}
	if code, _ := s.get(t, employee, "/team"); code != http.StatusForbidden {
		t.Errorf("an employee at /team: %d, want 403", code)
	}
	if code, body := s.get(t, officer, "/team?manager=ghost"); code != http.StatusBadRequest || !strings.Contains(body, `manager: person "ghost" is not in the directory`) {
		t.Errorf("an unknown manager: %d %q", code, body)
	}
}
