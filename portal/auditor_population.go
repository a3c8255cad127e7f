// Population lists for sampling (issue 16 item 3): every instance of a
// process in a period, each with its parts, from which an auditor draws a
// sample ("every offboarding in 2026 with its per-system removals").

package main

import (
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"
)

// populationOffboarding is one offboarding of the population and what it removed.
type populationOffboarding struct {
	RunID     string     `db:"run_id"`
	PersonID  string     `db:"person_id"`
	Name      string     `db:"name"`
	LastDay   time.Time  `db:"last_day"`
	Status    string     `db:"status"`
	StartedBy string     `db:"started_by"`
	ClosedAt  *time.Time `db:"closed_at"`
	Removals  []populationRemoval
}

type populationRemoval struct {
	RunID     string    `db:"run_id"`
	SystemID  string    `db:"system_id"`
	Method    string    `db:"method"`
	Outcome   string    `db:"outcome"`
	RemovedBy string    `db:"removed_by"`
	RemovedAt time.Time `db:"removed_at"`
	Deadline  time.Time `db:"deadline"`
	Met       bool      `db:"met"`
}

type populationPage struct {
	Process, From, To string
	Offboardings      []populationOffboarding
}

// populationProcesses are the processes with a population list.
const populationProcesses = "offboarding"

func (s *Server) population(w http.ResponseWriter, r *http.Request, p Principal) {
	if proc := r.URL.Query().Get("process"); proc != "offboarding" {
		http.Error(w, "process "+proc+": population lists exist for "+populationProcesses, http.StatusBadRequest)
		return
	}
	q, ok := s.recordsRequest(w, r, p)
	if !ok {
		return
	}
	page := populationPage{Process: "offboarding", From: q.Filter.From.Format(time.DateOnly), To: q.Filter.To.Format(time.DateOnly)}
	err := s.inScope(r.Context(), p, func(tx *sqlx.Tx) error {
		ctx := r.Context()
		// An offboarding is in the period of its last day.
		if err := tx.SelectContext(ctx, &page.Offboardings, `
			SELECT o.run_id, o.person_id, p.name, o.last_day, o.status, o.started_by, o.closed_at
			FROM offboardings o JOIN people p ON p.id = o.person_id
			WHERE o.last_day >= $1 AND o.last_day < $2 ORDER BY o.last_day, o.run_id`, q.Filter.From, q.Filter.To); err != nil {
			return err
		}
		var removals []populationRemoval
		if err := tx.SelectContext(ctx, &removals, `
			SELECT r.run_id, r.system_id, r.method, r.outcome, r.removed_by, r.removed_at, r.deadline, r.met
			FROM offboarding_removals r JOIN offboardings o ON o.run_id = r.run_id
			WHERE o.last_day >= $1 AND o.last_day < $2 ORDER BY r.run_id, r.system_id`, q.Filter.From, q.Filter.To); err != nil {
			return err
		}
		byRun := map[string]*populationOffboarding{}
		for i := range page.Offboardings {
			byRun[page.Offboardings[i].RunID] = &page.Offboardings[i]
		}
		for _, rm := range removals {
			o := byRun[rm.RunID]
			o.Removals = append(o.Removals, rm)
		}
		return nil
	})
	if err != nil {
		s.unavailable(w, "read the offboarding population", err)
		return
	}
	detail := filterDetail(q.Filter)
	detail["process"] = page.Process
	if !s.auditRead(w, r, p, "auditor.viewed_population", detail) {
		return
	}
	s.renderAuditor(w, http.StatusOK, "auditor_population.html", page)
}
