package main

import (
	"bytes"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/dashboard"
)

// The officer's dashboard (GET /dashboard, issue 15 item 6) and a manager's
// view of their reports (GET /team, item 3): every open item with its
// assignee, due date, overdue and escalated marks, filtered by process,
// control and person (the filter kept in the URL), paged by keyset; and,
// on the officer's, campaign progress, late removals, lapsed vendor reports
// and the annual reviews. Both read through inScope, so the database's
// row-level security checks the same person and role.

//go:embed templates/dashboard*.html
var dashboardTemplateFiles embed.FS

var dashboardTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"when":         notify.When,
	"day":          func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"processTitle": dashboard.ProcessTitle,
	"join":         strings.Join,
}).ParseFS(dashboardTemplateFiles, "templates/dashboard*.html"))

// dashboardPageSize is how many open items a page lists.
const dashboardPageSize = 50

// dashboardPage is what dashboard.html and dashboard_team.html show.
type dashboardPage struct {
	Path      string // the page's own path, for the filter form and links
	Filter    dashboard.Filter
	Processes []dashboard.Process
	Controls  []controlOption
	// PersonName is the name of the person filtered by.
	PersonName string
	Counts     dashboard.Counts
	Items      []dashboard.Item
	// FirstURL is the first page under the same filter (set on later
	// pages), NextURL the next page (empty on the last).
	FirstURL, NextURL string
	Campaigns         []dashboard.CampaignProgress

	// The officer's dashboard only.
	LateRemovals []dashboard.LateRemoval
	Lapsed       []dashboard.LapsedVendor
	Annual       []dashboard.AnnualState

	// The team page only: whose reports it lists.
	Manager, ManagerName string
}

type controlOption struct {
	ID    string `db:"id"`
	Title string `db:"title"`
}

// filterURL is path with f's filters (less ReportsOf, which /team takes as
// manager=) and the extra parameters.
func filterURL(path string, f dashboard.Filter, extra url.Values) string {
	v := url.Values{}
	for k, val := range map[string]string{"process": f.Process, "control": f.Control, "person": f.Person} {
		if val != "" {
			v.Set(k, val)
		}
	}
	for k, vals := range extra {
		v[k] = vals
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// badQuery is a query parameter the page refuses, naming it.
type badQuery struct{ param, why string }

func (e badQuery) Error() string { return e.param + ": " + e.why }

// readFilter reads the filter and the page's cursor from the query.
func readFilter(r *http.Request) (dashboard.Filter, *dashboard.Cursor, error) {
	q := r.URL.Query()
	f := dashboard.Filter{Process: q.Get("process"), Control: q.Get("control"), Person: q.Get("person")}
	if err := f.Check(); err != nil {
		return f, nil, badQuery{"process", err.Error()}
	}
	var after *dashboard.Cursor
	if s := q.Get("after"); s != "" {
		c, err := dashboard.ParseCursor(s)
		if err != nil {
			return f, nil, badQuery{"after", err.Error()}
		}
		after = &c
	}
	return f, after, nil
}

// loadItems fills the page's filter choices, counts, open items and
// campaign progress, checking that the control and person filtered by
// exist.
func loadItems(r *http.Request, tx *sqlx.Tx, page *dashboardPage, after *dashboard.Cursor, now time.Time) error {
	ctx := r.Context()
	f, err := page.Filter.Resolve(ctx, tx) // the team, once for the three queries below
	if err != nil {
		return err
	}
	if err := tx.SelectContext(ctx, &page.Controls, `SELECT id, title FROM controls ORDER BY id`); err != nil {
		return err
	}
	if f.Control != "" && !hasControl(page.Controls, f.Control) {
		return badQuery{"control", fmt.Sprintf("control %q is not in the program", f.Control)}
	}
	if f.Person != "" {
		name, err := personName(tx, r, f.Person)
		if err != nil {
			return err
		}
		page.PersonName = name
	}
	if page.Counts, err = dashboard.CountOpen(ctx, tx, f, now); err != nil {
		return err
	}
	items, err := dashboard.OpenItems(ctx, tx, f, after, dashboardPageSize, now)
	if err != nil {
		return err
	}
	page.Items = items.Items
	extra := url.Values{}
	if page.Manager != "" && f.ReportsOf != "" {
		extra.Set("manager", page.Manager)
	}
	if after != nil {
		page.FirstURL = filterURL(page.Path, f, extra)
	}
	if items.Next != nil {
		next := url.Values{"after": {items.Next.String()}}
		for k, v := range extra {
			next[k] = v
		}
		page.NextURL = filterURL(page.Path, f, next)
	}
	page.Campaigns, err = dashboard.Campaigns(ctx, tx, f, now)
	return err
}

func hasControl(cs []controlOption, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

// personName is the directory's name for id; an unknown id is a badQuery.
func personName(tx *sqlx.Tx, r *http.Request, id string) (string, error) {
	var name string
	err := tx.GetContext(r.Context(), &name, `SELECT name FROM people WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", badQuery{"person", fmt.Sprintf("person %q is not in the directory", id)}
	}
	return name, err
}

// dashboardGet is the officer's dashboard.
func (s *Server) dashboardGet(w http.ResponseWriter, r *http.Request, p Principal) {
	f, after, err := readFilter(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	page := dashboardPage{Path: "/dashboard", Filter: f, Processes: dashboard.Processes}
	err = s.inScope(r.Context(), p, func(tx *sqlx.Tx) error {
		if err := loadItems(r, tx, &page, after, now); err != nil {
			return err
		}
		var err error
		ctx := r.Context()
		if page.LateRemovals, err = dashboard.LateRemovals(ctx, tx, now); err != nil {
			return err
		}
		if page.Lapsed, err = dashboard.LapsedVendors(ctx, tx, now); err != nil {
			return err
		}
		page.Annual, err = dashboard.Annual(ctx, tx, now)
		return err
	})
	s.renderDashboard(w, r, "dashboard.html", page, err)
}

// teamGet lists the open items of the signed-in manager's direct and
// indirect reports. manager= names another manager: an officer may name
// anyone, a manager one of their own reports (a team within their team);
// naming anyone else is refused and audited.
func (s *Server) teamGet(w http.ResponseWriter, r *http.Request, p Principal) {
	f, after, err := readFilter(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	manager := r.URL.Query().Get("manager")
	if manager == "" {
		manager = p.PersonID
	}
	f.ReportsOf = manager
	now := time.Now()
	page := dashboardPage{Path: "/team", Filter: f, Processes: dashboard.Processes, Manager: manager}
	refused := false
	err = s.inScope(r.Context(), p, func(tx *sqlx.Tx) error {
		var err error
		if page.ManagerName, err = personName(tx, r, manager); err != nil {
			var bad badQuery
			if errors.As(err, &bad) {
				bad.param = "manager"
				return bad
			}
			return err
		}
		if manager != p.PersonID && p.Role != RoleOfficer {
			mine, err := dashboard.Reports(r.Context(), tx, p.PersonID)
			if err != nil {
				return err
			}
			if !slices.Contains(mine, manager) {
				refused = true
				return nil
			}
		}
		return loadItems(r, tx, &page, after, now)
	})
	if refused {
		s.refuseRole(w, r, p)
		return
	}
	s.renderDashboard(w, r, "dashboard_team.html", page, err)
}

// renderDashboard writes the page, or the error that stopped it: a bad
// query parameter is the asker's (400, naming it), anything else a 503.
func (s *Server) renderDashboard(w http.ResponseWriter, r *http.Request, name string, page dashboardPage, err error) {
	var bad badQuery
	if errors.As(err, &bad) {
		http.Error(w, bad.Error(), http.StatusBadRequest)
		return
	}
	var buf bytes.Buffer
	if err == nil {
		err = dashboardTemplates.ExecuteTemplate(&buf, name, page)
	}
	if err != nil {
		s.Logger.Error("dashboard", "page", r.URL.Path, "err", err)
		http.Error(w, "This page cannot be shown just now. Please try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
