package program

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// applyLock serialises the Postgres part of concurrent applies; sessionLock
// keeps a second apply out for the whole of one (plan, schedules, record).
const (
	applyLock   = 7405563242
	sessionLock = 7405563243
)

// ErrApplyRunning is returned by LockApply while another apply runs.
var ErrApplyRunning = errors.New("another program apply is running; try again when it is done")

// LockApply keeps other applies out until unlock is called, so none plans
// against schedules another is halfway through changing.
func LockApply(ctx context.Context, db *sqlx.DB) (unlock func(), err error) {
	conn, err := db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	var got bool
	if err := conn.GetContext(ctx, &got, `SELECT pg_try_advisory_lock($1)`, sessionLock); err != nil {
		conn.Close()
		return nil, fmt.Errorf("take the apply lock: %w", err)
	}
	if !got {
		conn.Close()
		return nil, ErrApplyRunning
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, sessionLock)
		conn.Close()
	}, nil
}

// Version is a program version as recorded by an apply.
type Version struct {
	ID            int64          `db:"id"`
	Hash          string         `db:"content_hash"`
	File          string         `db:"file"`
	ObligationIDs pq.StringArray `db:"obligation_ids"`
	AppliedAt     time.Time      `db:"applied_at"`
	AppliedBy     string         `db:"applied_by"`
}

// Latest is the version applied last, or nil if none was.
func Latest(ctx context.Context, db sqlx.QueryerContext) (*Version, error) {
	var v Version
	err := sqlx.GetContext(ctx, db, &v, `SELECT id, content_hash, file, obligation_ids, applied_at, applied_by
		FROM program_versions ORDER BY id DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("latest program version: %w", err)
	}
	return &v, nil
}

// People is every person ID in the directory, for Options.People.
func People(ctx context.Context, db sqlx.QueryerContext) (map[string]bool, error) {
	var ids []string
	if err := sqlx.SelectContext(ctx, db, &ids, `SELECT id FROM people`); err != nil {
		return nil, fmt.Errorf("look up people: %w", err)
	}
	known := make(map[string]bool, len(ids))
	for _, id := range ids {
		known[id] = true
	}
	return known, nil
}

// Record makes p the program in force: it upserts the policies and controls,
// replaces the framework and policy mappings of the file's controls and the
// role holders, retires controls no longer in the file, appends the version
// and writes the audit entry, all in one transaction. changes is what the
// apply did to the schedules, stored as JSON with the version.
func Record(ctx context.Context, db *sqlx.DB, p *Program, appliedBy string, changes any) (int64, error) {
	changesJSON, err := json.Marshal(changes)
	if err != nil {
		return 0, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, applyLock); err != nil {
		return 0, err
	}
	if err := recordPolicies(ctx, tx, p); err != nil {
		return 0, err
	}
	if err := recordControls(ctx, tx, p); err != nil {
		return 0, err
	}
	if err := recordRoles(ctx, tx, p); err != nil {
		return 0, err
	}
	if err := recordTrainings(ctx, tx, p); err != nil {
		return 0, err
	}
	if err := recordObligations(ctx, tx, p); err != nil {
		return 0, err
	}
	if err := recordOffboarding(ctx, tx, p); err != nil {
		return 0, err
	}
	obligationIDs := make([]string, len(p.Obligations))
	for i, o := range p.Obligations {
		obligationIDs[i] = o.ID
	}
	var id int64
	if err := tx.GetContext(ctx, &id, `INSERT INTO program_versions (content_hash, file, content, obligation_ids, applied_by, changes)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		p.Hash, p.File, string(p.Content), pq.Array(obligationIDs), appliedBy, changesJSON); err != nil {
		return 0, fmt.Errorf("record program version: %w", err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: appliedBy, Action: "program.apply", Subject: "program/" + strconv.FormatInt(id, 10),
		Detail: map[string]any{"version_id": id, "content_hash": p.Hash, "file": p.File, "changes": json.RawMessage(changesJSON)},
		Key:    "program-version/" + strconv.FormatInt(id, 10)}); err != nil {
		return 0, fmt.Errorf("audit program apply: %w", err)
	}
	return id, tx.Commit()
}

func recordPolicies(ctx context.Context, tx *sqlx.Tx, p *Program) error {
	ids := make([]string, len(p.Policies))
	var deprecated []string
	for i, pol := range p.Policies {
		ids[i] = pol.ID
		if pol.Deprecated {
			deprecated = append(deprecated, pol.ID)
		}
		// The text, content_sha256 and version are taken only on
		// registration, as the first version (policies_register_version):
		// after that they are the published version's, which only a change
		// moves.
		if _, err := tx.ExecContext(ctx, `INSERT INTO policies (id, title, owner_id, source, registered_text, content_sha256, version, product_development)
			VALUES ($1, $2, $3, $4, $5, $6, nullif($7, ''), $8)
			ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, owner_id = EXCLUDED.owner_id, source = EXCLUDED.source,
				product_development = EXCLUDED.product_development, updated_at = now()
			WHERE (policies.title, policies.owner_id, policies.source, policies.product_development)
				IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.owner_id, EXCLUDED.source, EXCLUDED.product_development)`,
			pol.ID, pol.Title, pol.OwnerID, pol.Source, pol.Text, pol.TextSHA256, pol.Version, pol.ProductDevelopment); err != nil {
			return fmt.Errorf("policy %s: %w", pol.ID, err)
		}
	}
	// A policy marked deprecated, or gone from the file, is deprecated; one
	// listed again without the mark is back in force.
	if _, err := tx.ExecContext(ctx, `UPDATE policies SET updated_at = now(),
			status = CASE WHEN id = ANY($2) OR NOT id = ANY($1) THEN 'deprecated' ELSE 'published' END
		WHERE status <> 'unversioned'
			AND status IS DISTINCT FROM CASE WHEN id = ANY($2) OR NOT id = ANY($1) THEN 'deprecated' ELSE 'published' END`,
		pq.Array(ids), pq.Array(nonNil(deprecated))); err != nil {
		return fmt.Errorf("policy status: %w", err)
	}
	return nil
}

func recordControls(ctx context.Context, tx *sqlx.Tx, p *Program) error {
	ids := make([]string, len(p.Controls))
	for i, c := range p.Controls {
		ids[i] = c.ID
		if _, err := tx.ExecContext(ctx, `INSERT INTO controls (id, title, description, processes) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description,
				processes = EXCLUDED.processes, retired_at = NULL, updated_at = now()
			WHERE (controls.title, controls.description, controls.processes, controls.retired_at)
				IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.processes, NULL)`,
			c.ID, c.Title, c.Description, pq.Array(nonNil(c.Processes))); err != nil {
			return fmt.Errorf("control %s: %w", c.ID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE controls SET retired_at = now(), updated_at = now()
		WHERE retired_at IS NULL AND NOT id = ANY($1)`, pq.Array(ids)); err != nil {
		return fmt.Errorf("retire controls: %w", err)
	}
	for _, table := range []string{"control_requirements", "control_policies"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE control_id = ANY($1)`, pq.Array(ids)); err != nil {
			return fmt.Errorf("replace %s: %w", table, err)
		}
	}
	for _, c := range p.Controls {
		for _, r := range c.Requirements {
			if _, err := tx.ExecContext(ctx, `INSERT INTO framework_requirements (framework, ref) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, r.Framework, r.Ref); err != nil {
				return fmt.Errorf("requirement %s %s: %w", r.Framework, r.Ref, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO control_requirements (control_id, framework, ref) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, c.ID, r.Framework, r.Ref); err != nil {
				return fmt.Errorf("control %s requirement %s %s: %w", c.ID, r.Framework, r.Ref, err)
			}
		}
		for _, pol := range c.Policies {
			if _, err := tx.ExecContext(ctx, `INSERT INTO control_policies (control_id, policy_id) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, c.ID, pol); err != nil {
				return fmt.Errorf("control %s policy %s: %w", c.ID, pol, err)
			}
		}
	}
	return nil
}

func recordRoles(ctx context.Context, tx *sqlx.Tx, p *Program) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM roles`); err != nil {
		return fmt.Errorf("replace roles: %w", err)
	}
	for _, role := range RoleNames {
		for _, person := range p.Roles[role] {
			if _, err := tx.ExecContext(ctx, `INSERT INTO roles (role, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
				role, person); err != nil {
				return fmt.Errorf("role %s %s: %w", role, person, err)
			}
		}
	}
	return nil
}

// recordTrainings upserts the file's trainings. One that leaves the file
// stays: completions name it.
func recordTrainings(ctx context.Context, tx *sqlx.Tx, p *Program) error {
	for _, t := range p.Trainings {
		quiz, err := json.Marshal(nonNilQuiz(t.Quiz))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO trainings (id, title, source, content, content_sha256, quiz, pass_mark)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, source = EXCLUDED.source, content = EXCLUDED.content,
				content_sha256 = EXCLUDED.content_sha256, quiz = EXCLUDED.quiz, pass_mark = EXCLUDED.pass_mark, updated_at = now()
			WHERE (trainings.title, trainings.source, trainings.content_sha256, trainings.quiz, trainings.pass_mark)
				IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.source, EXCLUDED.content_sha256, EXCLUDED.quiz, EXCLUDED.pass_mark)`,
			t.ID, t.Title, t.Source, t.Content, t.ContentSHA256, quiz, t.PassMark); err != nil {
			return fmt.Errorf("training %s: %w", t.ID, err)
		}
	}
	return nil
}

func nonNilQuiz(q []Question) []Question {
	if q == nil {
		return []Question{}
	}
	return q
}

// recordObligations replaces the obligations in force, so what runs outside
// a schedule (a material change's campaign, new hires, the starter) takes
// the file's cadence and escalation.
func recordObligations(ctx context.Context, tx *sqlx.Tx, p *Program) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM obligations`); err != nil {
		return fmt.Errorf("replace obligations: %w", err)
	}
	for _, o := range p.Obligations {
		esc, err := json.Marshal(o.Escalation)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO obligations (id, process, due, remind_every, escalation, control_ids, scope,
				departments, training_id, new_hire_within)
			VALUES ($1, $2, $3::interval, nullif($4, '0 microseconds')::interval, $5, $6, $7, $8, $9, nullif($10, '0 microseconds')::interval)`,
			o.ID, o.Process, micros(o.Due), micros(o.RemindEvery), esc, pq.Array(nonNil(o.Controls)), pq.Array(nonNil(o.Scope)),
			pq.Array(nonNil(o.Departments)), o.Training, micros(o.NewHireWithin)); err != nil {
			return fmt.Errorf("obligation %s: %w", o.ID, err)
		}
	}
	return nil
}

func micros(d time.Duration) string { return fmt.Sprintf("%d microseconds", d.Microseconds()) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
