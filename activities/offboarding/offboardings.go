// Package offboarding records offboardings in Postgres and removes a
// leaver's access through the systems' connectors (controls lists A and B:
// "Upon termination or when internal personnel no longer require access,
// system access is removed"): who may start one, the removal plan from the
// inventory and the program file's deadlines, every removal as evidence,
// the signed webhook and SCIM 2.0 calls, and the leaver's open tasks.
package offboarding

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/refusal"
)

// Process is the name the program file's controls list offboarding under.
const Process = "offboarding"

// HRFeed is the starter of an offboarding that `starter import people`
// started because the person's end date was newly set.
const HRFeed = "hr-feed"

// Activities are the offboarding's activities.
type Activities struct {
	DB *sqlx.DB
	// HTTP calls the connectors (webhooks, SCIM); nil: http.DefaultClient.
	HTTP *http.Client
	// ConnectorKey signs webhook bodies (CONNECTOR_SIGNING_KEY).
	ConnectorKey []byte
	// Links signs the callback URL a webhook may answer on, under BaseURL
	// (the portal), valid for LinkTTL.
	Links   *links.Signer
	BaseURL string
	LinkTTL time.Duration
	// Getenv reads a SCIM bearer token by the variable name the inventory
	// gives; nil: os.Getenv.
	Getenv func(string) string
}

// OpenInput starts an offboarding run.
type OpenInput struct {
	RunID      string
	WorkflowID string
	PersonID   string
	LastDay    string // YYYY-MM-DD
	StartedBy  string // a person ID, or HRFeed
	// ActedBy is who started it for StartedBy ("cli:alice on behalf of
	// m"); the audit entry's actor. Empty: StartedBy.
	ActedBy string
	Reason  string
}

// Plan is what the offboarding works through.
type Plan struct {
	Person   directory.Person
	Manager  string // empty when the person has none
	Systems  []System
	Controls []string
	// Cancellers may cancel the offboarding: the person's management chain
	// and the security officers.
	Cancellers []string
}

// System is one system's removal step.
type System struct {
	ID          string `db:"id"`
	Name        string `db:"name"`
	OwnerID     string `db:"owner_id"`
	Method      string `db:"removal_method"`
	Criticality string `db:"criticality"`
	// From the program file's offboarding section for the criticality.
	Deadline     time.Duration
	RemindEvery  time.Duration
	OfficerAfter time.Duration
}

// Open checks that StartedBy may offboard the person, records the run and
// answers its plan: every system in the inventory with its rule.
func (a *Activities) Open(ctx context.Context, in OpenInput) (Plan, error) {
	if _, err := time.Parse(time.DateOnly, in.LastDay); err != nil {
		return Plan{}, refusal.New("last day %q is not a date such as 2026-12-18", in.LastDay)
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return Plan{}, err
	}
	defer tx.Rollback()
	if err := Authorize(ctx, tx, in.PersonID, in.StartedBy); err != nil {
		return Plan{}, err
	}
	var p Plan
	if p.Person, err = directory.LookupPerson(ctx, tx, in.PersonID); err != nil {
		return Plan{}, err
	}
	if err := tx.GetContext(ctx, &p.Manager, `SELECT coalesce(manager_id, '') FROM people WHERE id = $1`, in.PersonID); err != nil {
		return Plan{}, err
	}
	if p.Systems, err = systemsWithRules(ctx, tx); err != nil {
		return Plan{}, err
	}
	if p.Controls, err = directory.ControlsFor(ctx, tx, Process); err != nil {
		return Plan{}, err
	}
	chain, err := managementChain(ctx, tx, in.PersonID)
	if err != nil {
		return Plan{}, err
	}
	officers, err := directory.RoleHolders(ctx, tx, "security_officer")
	if err != nil {
		return Plan{}, err
	}
	p.Cancellers = append(chain, officers...)
	if _, err := tx.ExecContext(ctx, `INSERT INTO offboardings (run_id, workflow_id, person_id, last_day, started_by, reason)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id) DO NOTHING`,
		in.RunID, in.WorkflowID, in.PersonID, in.LastDay, in.StartedBy, in.Reason); err != nil {
		return Plan{}, fmt.Errorf("record offboarding: %w", err)
	}
	systems := make([]string, len(p.Systems))
	for i, s := range p.Systems {
		systems[i] = s.ID
	}
	actor := in.ActedBy
	if actor == "" {
		actor = in.StartedBy
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "offboarding.started", Subject: in.WorkflowID, Controls: p.Controls,
		Detail: map[string]any{"run": in.RunID, "person": in.PersonID, "last_day": in.LastDay, "started_by": in.StartedBy,
			"reason": in.Reason, "systems": systems},
		Key: "offboarding/" + in.RunID + "/started"}); err != nil {
		return Plan{}, err
	}
	return p, tx.Commit()
}

// Authorize refuses anyone but the person's managers (anyone up the chain),
// a security officer, or the HR feed, saying who may.
func Authorize(ctx context.Context, q sqlx.QueryerContext, personID, by string) error {
	found, _, err := directory.PersonActive(ctx, q, personID)
	if err != nil {
		return err
	}
	if !found {
		return refusal.New("person %q is not in the directory", personID)
	}
	if by == HRFeed {
		return nil
	}
	chain, err := managementChain(ctx, q, personID)
	if err != nil {
		return err
	}
	officers, err := directory.RoleHolders(ctx, q, "security_officer")
	if err != nil {
		return err
	}
	if slices.Contains(chain, by) || slices.Contains(officers, by) {
		return nil
	}
	return refusal.New("%s may not offboard %s: only %s's managers (%s), a security officer (%s) or the HR feed may",
		by, personID, personID, orNobody(chain), orNobody(officers))
}

// managementChain is the person's manager, their manager, and so on up.
func managementChain(ctx context.Context, q sqlx.QueryerContext, personID string) ([]string, error) {
	var chain []string
	err := sqlx.SelectContext(ctx, q, &chain, `
		WITH RECURSIVE up(id, depth) AS (
			SELECT manager_id, 1 FROM people WHERE id = $1 AND manager_id IS NOT NULL
			UNION
			SELECT p.manager_id, up.depth + 1 FROM people p JOIN up ON p.id = up.id
			WHERE p.manager_id IS NOT NULL AND up.depth < 100)
		SELECT id FROM up ORDER BY depth`, personID)
	if err != nil {
		return nil, fmt.Errorf("management chain of %s: %w", personID, err)
	}
	return chain, nil
}

func orNobody(ids []string) string {
	if len(ids) == 0 {
		return "nobody"
	}
	return strings.Join(ids, ", ")
}

// systemsWithRules is every system in the inventory with its criticality's
// rule; a criticality without one refuses the offboarding, since its
// deadline would be a guess.
func systemsWithRules(ctx context.Context, q sqlx.QueryerContext) ([]System, error) {
	var rows []struct {
		System
		Deadline     *float64 `db:"deadline_s"`
		RemindEvery  *float64 `db:"remind_s"`
		OfficerAfter *float64 `db:"officer_s"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT s.id, s.name, s.owner_id, s.removal_method, s.criticality,
		       extract(epoch FROM d.deadline_after)::float8 AS deadline_s, extract(epoch FROM d.remind_every)::float8 AS remind_s,
		       extract(epoch FROM d.officer_after)::float8 AS officer_s
		FROM systems s LEFT JOIN offboarding_deadlines d ON d.criticality = s.criticality ORDER BY s.id`); err != nil {
		return nil, fmt.Errorf("systems: %w", err)
	}
	out := make([]System, len(rows))
	for i, r := range rows {
		if r.Deadline == nil {
			return nil, refusal.New("no offboarding deadline for %s systems such as %s: apply a program file with an offboarding section "+
				"(`starter program apply`)", r.Criticality, r.ID)
		}
		s := r.System
		s.Deadline, s.RemindEvery, s.OfficerAfter = seconds(*r.Deadline), seconds(*r.RemindEvery), seconds(*r.OfficerAfter)
		out[i] = s
	}
	return out, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Offboarding statuses, as offboardings.status spells them.
const (
	StatusOpen      = "open"
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
)

// CloseInput ends an offboarding run: completed once every system is
// confirmed, or cancelled (rehire, mistake) by By with Note.
type CloseInput struct {
	RunID      string
	WorkflowID string
	Status     string
	By         string
	Note       string
	At         time.Time
	Controls   []string
}

// Close records the run's end once.
func (a *Activities) Close(ctx context.Context, in CloseInput) error {
	if in.Status != StatusCompleted && in.Status != StatusCancelled {
		return refusal.New("an offboarding closes completed or cancelled, not %q", in.Status)
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE offboardings SET status = $2, closed_by = $3, close_note = $4, closed_at = $5
		WHERE run_id = $1 AND status = 'open'`, in.RunID, in.Status, in.By, in.Note, in.At); err != nil {
		return fmt.Errorf("close offboarding %s: %w", in.RunID, err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: in.By, Action: "offboarding." + in.Status, Subject: in.WorkflowID, Controls: in.Controls,
		Detail: map[string]any{"run": in.RunID, "note": in.Note, "at": in.At},
		Key:    "offboarding/" + in.RunID + "/" + in.Status}); err != nil {
		return err
	}
	return tx.Commit()
}
