// The policies page (issue 15 item 5): every current policy with its
// version, each one's history, and the version in force on a date.

package main

import (
	"database/sql"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"
)

type policyVersionRow struct {
	PolicyID   string       `db:"policy_id"`
	Title      string       `db:"title"`
	Version    string       `db:"version"`
	Kind       string       `db:"kind"`
	Summary    string       `db:"summary"`
	Published  time.Time    `db:"published_at"`
	Superseded sql.NullTime `db:"superseded_at"`
}

type policiesPage struct {
	On      string
	Current []policyVersionRow
	// History is every version of every policy, newest first within each.
	History []policyVersionRow
	Error   string
}

func (s *Server) policies(w http.ResponseWriter, r *http.Request, p Principal) {
	page := policiesPage{On: r.URL.Query().Get("on")}
	// "The version in force on date D": published by the end of D and not
	// superseded before it ended. Without a date: now.
	at := time.Now()
	if page.On != "" {
		d, err := time.Parse(time.DateOnly, page.On)
		if err != nil {
			page.Error, page.On = "The date must be YYYY-MM-DD.", ""
		} else {
			at = d.Add(24*time.Hour - time.Nanosecond)
		}
	}
	err := s.inScope(r.Context(), p, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(r.Context(), &page.Current, `SELECT v.policy_id, p.title, v.version, v.kind, v.summary, v.published_at, v.superseded_at
			FROM policy_versions v JOIN policies p ON p.id = v.policy_id
			WHERE v.published_at <= $1 AND (v.superseded_at IS NULL OR v.superseded_at > $1) AND p.status <> 'deprecated'
			ORDER BY p.title`, at); err != nil {
			return err
		}
		return tx.SelectContext(r.Context(), &page.History, `SELECT v.policy_id, p.title, v.version, v.kind, v.summary, v.published_at, v.superseded_at
			FROM policy_versions v JOIN policies p ON p.id = v.policy_id
			ORDER BY p.title, v.year DESC, v.seq DESC, v.revision DESC`)
	})
	if err != nil {
		s.unavailable(w, "list policies", err)
		return
	}
	status := http.StatusOK
	if page.Error != "" {
		status = http.StatusBadRequest
	}
	s.renderAccount(w, status, "policies.html", page)
}
