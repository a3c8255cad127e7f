// The signed-in home (issue 15 item 5): my open tasks across every process,
// my pending acknowledgements and trainings, what I signed and completed,
// and for a manager their reports' open work.

package main

import (
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/internal/links"
)

// homeLinkTTL: the home page's task links are made for the visit, not for
// mail that waits in an inbox.
const homeLinkTTL = 12 * time.Hour

type homeTask struct {
	ID      string    `db:"id"`
	Subject string    `db:"subject"`
	Due     time.Time `db:"due_at"`
	Link    string
}

type homeAssignment struct {
	CampaignID string    `db:"campaign_id"`
	Title      string    `db:"title"`
	Kind       string    `db:"kind"`
	Due        time.Time `db:"due_at"`
	Link       string
}

type homeSignature struct {
	What string    `db:"what"`
	At   time.Time `db:"at"`
}

type homeReport struct {
	ID        string `db:"id"`
	Name      string `db:"name"`
	OpenTasks int    `db:"open_tasks"`
	Pending   int    `db:"pending"`
}

type homePage struct {
	Name, Role  string
	Tasks       []homeTask
	Assignments []homeAssignment
	Signatures  []homeSignature
	Reports     []homeReport
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, p Principal) {
	if s.signerErr != nil {
		s.unavailable(w, "sign links", s.signerErr)
		return
	}
	page := homePage{Role: string(p.Role)}
	err := s.inScope(r.Context(), p, func(tx *sqlx.Tx) error {
		ctx := r.Context()
		if err := tx.GetContext(ctx, &page.Name, `SELECT name FROM people WHERE id = $1`, p.PersonID); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &page.Tasks, `SELECT id, subject, due_at FROM tasks
			WHERE assignee_id = $1 AND status = 'open' ORDER BY due_at, id`, p.PersonID); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &page.Assignments, `SELECT a.campaign_id, c.title, c.kind, a.due_at
			FROM assignments a JOIN campaigns c ON c.id = a.campaign_id
			WHERE a.person_id = $1 AND a.status = 'pending' ORDER BY a.due_at, a.campaign_id`, p.PersonID); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &page.Signatures, `
			SELECT 'Acknowledged ' || policy_id || ' ' || version AS what, at FROM acknowledgements WHERE person_id = $1
			UNION ALL
			SELECT 'Completed training ' || training_id || ' (' || score || '/' || out_of || ')', at FROM training_completions WHERE person_id = $1
			ORDER BY at DESC LIMIT 50`, p.PersonID); err != nil {
			return err
		}
		if p.Role != RoleManager {
			return nil
		}
		// A manager sees their reports' status (issue 15 item 3).
		return tx.SelectContext(ctx, &page.Reports, `SELECT p.id, p.name,
			(SELECT count(*) FROM tasks t WHERE t.assignee_id = p.id AND t.status = 'open') AS open_tasks,
			(SELECT count(*) FROM assignments a WHERE a.person_id = p.id AND a.status = 'pending') AS pending
			FROM people p WHERE p.manager_id = $1 AND (p.end_date IS NULL OR p.end_date >= current_date) ORDER BY p.name`, p.PersonID)
	})
	if err != nil {
		s.unavailable(w, "load home", err)
		return
	}
	expires := time.Now().Add(homeLinkTTL)
	for i, t := range page.Tasks {
		page.Tasks[i].Link = "/t/" + s.signer.Sign(links.Claims{Subject: t.ID, PersonID: p.PersonID, Expires: expires})
	}
	for i, a := range page.Assignments {
		page.Assignments[i].Link = "/a/" + s.signer.Sign(links.Claims{Subject: campaign.AssignmentSubject(a.CampaignID, "portal"), PersonID: p.PersonID, Expires: expires})
	}
	s.renderAccount(w, http.StatusOK, "home.html", page)
}
