package riskassessment

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
)

// Activities records risk assessments.
type Activities struct {
	DB *sqlx.DB
}

// OpenInput opens one assessment.
type OpenInput struct {
	ID        string
	Year      int
	Tolerance int
	Controls  []string // empty: the program's controls naming the process
	At        time.Time
}

// Owner is one risk owner and the risks of the register they re-score.
type Owner struct {
	PersonID string
	Risks    []Risk
}

// Info is what the workflow needs to run the assessment.
type Info struct {
	Controls  []string
	Owners    []Owner
	OfficerID string
	CEOID     string
	Program   []string // every control in force, for linking
}

// RiskOpen records the assessment (once) and answers each owner's risks,
// who signs off (the security officer, and the CEO for acceptances above
// tolerance) and the controls in force.
func (a *Activities) RiskOpen(ctx context.Context, in OpenInput) (Info, error) {
	if in.Tolerance < 1 || in.Tolerance > 25 {
		return Info{}, refusal.New("risk tolerance %d: must be a score from 1 to 25 (the obligation's risk_tolerance)", in.Tolerance)
	}
	info := Info{Controls: in.Controls}
	var err error
	if len(info.Controls) == 0 {
		if info.Controls, err = directory.ControlsFor(ctx, a.DB, Process); err != nil {
			return Info{}, err
		}
	}
	for _, who := range []struct {
		roles []string
		dst   *string
	}{{[]string{"security_officer"}, &info.OfficerID}, {[]string{"ceo", "ceo_designee"}, &info.CEOID}} {
		holders, err := directory.RoleHolders(ctx, a.DB, who.roles...)
		if err != nil {
			return Info{}, err
		}
		if len(holders) == 0 {
			return Info{}, refusal.New("nobody holds the role %s to sign the risk assessment off: add a holder in the program file", who.roles[0])
		}
		*who.dst = holders[0]
	}
	risks, err := a.register(ctx, a.DB)
	if err != nil {
		return Info{}, err
	}
	if len(risks) == 0 {
		return Info{}, refusal.New("the risk register is empty: import it first (starter import risks FILE.csv)")
	}
	for _, r := range risks {
		if i := slices.IndexFunc(info.Owners, func(o Owner) bool { return o.PersonID == r.OwnerID }); i >= 0 {
			info.Owners[i].Risks = append(info.Owners[i].Risks, r)
		} else {
			info.Owners = append(info.Owners, Owner{PersonID: r.OwnerID, Risks: []Risk{r}})
		}
	}
	if err := a.DB.SelectContext(ctx, &info.Program, `SELECT id FROM controls WHERE retired_at IS NULL ORDER BY id`); err != nil {
		return Info{}, fmt.Errorf("list controls: %w", err)
	}
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return Info{}, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO risk_assessments (id, year, status, risk_tolerance, control_ids, opened_at)
		VALUES ($1, $2, 'open', $3, $4, $5) ON CONFLICT (id) DO NOTHING`, in.ID, in.Year, in.Tolerance, pq.Array(nonNil(info.Controls)), in.At)
	if err != nil {
		return Info{}, fmt.Errorf("open risk assessment %s: %w", in.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		owners := make([]string, len(info.Owners))
		for i, o := range info.Owners {
			owners[i] = o.PersonID
		}
		if err := audit.Write(ctx, tx, audit.Entry{Actor: "complyflow", Action: "risk-assessment.opened", Subject: in.ID, Controls: info.Controls,
			Detail: map[string]any{"year": in.Year, "risk_tolerance": in.Tolerance, "risks": len(risks), "owners": owners, "at": in.At},
			Key:    in.ID + "/opened"}); err != nil {
			return Info{}, err
		}
	}
	return info, tx.Commit()
}

// register reads every risk, by owner then ID.
func (a *Activities) register(ctx context.Context, q sqlx.QueryerContext) ([]Risk, error) {
	rows, err := q.QueryxContext(ctx, `SELECT id, title, description, category, owner_id, likelihood, impact, treatment, control_ids,
		residual_likelihood, residual_impact FROM risks ORDER BY owner_id, id`)
	if err != nil {
		return nil, fmt.Errorf("read the risk register: %w", err)
	}
	defer rows.Close()
	var risks []Risk
	for rows.Next() {
		var r Risk
		if err := rows.Scan(&r.ID, &r.Title, &r.Description, &r.Category, &r.OwnerID, &r.Likelihood, &r.Impact, &r.Treatment,
			pq.Array(&r.Controls), &r.ResidualLikelihood, &r.ResidualImpact); err != nil {
			return nil, err
		}
		risks = append(risks, r)
	}
	return risks, rows.Err()
}

// Assessed is one risk as its owner scored it this year.
type Assessed struct {
	Risk          Risk
	Justification string
	Proposed      bool // a new risk the owner proposes
}

// ScoresInput is one owner's completed task.
type ScoresInput struct {
	ID       string
	Round    int
	TaskID   string
	By       string
	At       time.Time
	Risks    []Assessed
	Controls []string
}

// ScoresResult names control IDs the owner linked that the program does
// not have: they are left off, and the audit entry says so.
type ScoresResult struct {
	Unknown []string
}

// RiskRecordScores keeps the owner's scores as they are this year and
// brings the register up to date with them; a proposed risk joins the
// register, owned by whoever proposed it.
func (a *Activities) RiskRecordScores(ctx context.Context, in ScoresInput) (ScoresResult, error) {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return ScoresResult{}, err
	}
	defer tx.Rollback()
	var known []string
	if err := tx.SelectContext(ctx, &known, `SELECT id FROM controls WHERE retired_at IS NULL`); err != nil {
		return ScoresResult{}, fmt.Errorf("list controls: %w", err)
	}
	var res ScoresResult
	detail := []map[string]any{}
	for _, as := range in.Risks {
		r := as.Risk
		var linked []string
		for _, c := range r.Controls {
			if slices.Contains(known, c) {
				linked = append(linked, c)
			} else {
				res.Unknown = append(res.Unknown, c)
			}
		}
		if as.Proposed {
			_, err = tx.ExecContext(ctx, `INSERT INTO risks (id, title, description, category, owner_id, likelihood, impact, treatment,
					control_ids, residual_likelihood, residual_impact) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
				ON CONFLICT (id) DO NOTHING`, r.ID, r.Title, r.Description, r.Category, r.OwnerID, r.Likelihood, r.Impact, r.Treatment,
				pq.Array(nonNil(linked)), r.ResidualLikelihood, r.ResidualImpact)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE risks SET likelihood = $2, impact = $3, treatment = $4, control_ids = $5,
					residual_likelihood = $6, residual_impact = $7, updated_at = now() WHERE id = $1`,
				r.ID, r.Likelihood, r.Impact, r.Treatment, pq.Array(nonNil(linked)), r.ResidualLikelihood, r.ResidualImpact)
		}
		if err != nil {
			return ScoresResult{}, fmt.Errorf("update risk %s: %w", r.ID, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO risk_assessment_scores (assessment_id, risk_id, round, likelihood, impact,
				residual_likelihood, residual_impact, treatment, justification, control_ids, proposed, task_id, assessed_by, assessed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING`,
			in.ID, r.ID, in.Round, r.Likelihood, r.Impact, r.ResidualLikelihood, r.ResidualImpact, r.Treatment, as.Justification,
			pq.Array(nonNil(linked)), as.Proposed, in.TaskID, in.By, in.At)
		if err != nil {
			return ScoresResult{}, fmt.Errorf("record the score of %s: %w", r.ID, err)
		}
		detail = append(detail, map[string]any{"risk": r.ID, "score": r.Score(), "residual": r.ResidualScore(), "treatment": r.Treatment,
			"proposed": as.Proposed})
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: in.By, Action: "risk-assessment.scored", Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"task": in.TaskID, "round": in.Round, "risks": detail, "unknown_controls": res.Unknown, "at": in.At},
		Key:    in.TaskID + "/scored"}); err != nil {
		return ScoresResult{}, err
	}
	return res, tx.Commit()
}

// Sign-off steps, as risk_signoffs.step spells them.
const (
	StepAssessment = "assessment" // the officer's review of the whole assessment
	StepOfficer    = "acceptance-officer"
	StepCEO        = "acceptance-ceo"
)

// SignOffInput is one sign-off task's decision.
type SignOffInput struct {
	ID        string
	Step      string
	RiskID    string // empty for StepAssessment
	TaskID    string
	By        string
	Decision  string // "approve" or "reject"
	Note      string
	ExpiresOn time.Time // an acceptance's expiry, once both have signed
	At        time.Time
	Controls  []string
	// Final: the assessment is signed off (StepAssessment approved), or
	// the acceptance holds until ExpiresOn (the CEO's approval).
	Final bool
}

// RiskRecordSignOff records a sign-off; the officer's approval of the
// assessment marks it signed off, the CEO's approval of an acceptance dates
// the risk's expiry.
func (a *Activities) RiskRecordSignOff(ctx context.Context, in SignOffInput) error {
	tx, err := a.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var expires any
	if !in.ExpiresOn.IsZero() {
		expires = in.ExpiresOn
	}
	var risk any
	if in.RiskID != "" {
		risk = in.RiskID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO risk_signoffs (assessment_id, step, risk_id, task_id, decided_by, decision, note, expires_on, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (task_id) DO NOTHING`,
		in.ID, in.Step, risk, in.TaskID, in.By, in.Decision, in.Note, expires, in.At); err != nil {
		return fmt.Errorf("record sign-off %s: %w", in.TaskID, err)
	}
	if in.Final && in.Step == StepAssessment {
		if _, err := tx.ExecContext(ctx, `UPDATE risk_assessments SET status = 'signed-off', signed_off_by = $2, signed_off_at = $3, updated_at = now()
			WHERE id = $1`, in.ID, in.By, in.At); err != nil {
			return fmt.Errorf("sign off %s: %w", in.ID, err)
		}
	}
	if in.Final && in.Step == StepCEO {
		if _, err := tx.ExecContext(ctx, `UPDATE risks SET acceptance_expires_on = $2, updated_at = now() WHERE id = $1`, in.RiskID, expires); err != nil {
			return fmt.Errorf("date the acceptance of %s: %w", in.RiskID, err)
		}
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: in.By, Action: "risk-assessment." + in.Step, Subject: in.ID, Controls: in.Controls,
		Detail: map[string]any{"task": in.TaskID, "risk": in.RiskID, "decision": in.Decision, "note": in.Note, "expires_on": expires, "at": in.At},
		Key:    in.TaskID + "/signed"}); err != nil {
		return err
	}
	return tx.Commit()
}
