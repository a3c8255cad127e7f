package riskassessment

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Scored is one risk as one assessment kept it: its last round's scores
// that year (the register is versioned by assessment, issue item 7), and
// the assessment before's, to show the change.
type Scored struct {
	Year          int       `json:"year"`
	AssessmentID  string    `json:"assessment_id"`
	RiskID        string    `json:"risk_id"`
	Title         string    `json:"title"`
	Likelihood    int       `json:"likelihood"`
	Impact        int       `json:"impact"`
	Score         int       `json:"score"`
	ResidualScore int       `json:"residual_score"`
	Treatment     string    `json:"treatment"`
	Justification string    `json:"justification"`
	Controls      []string  `json:"controls"`
	Proposed      bool      `json:"proposed"`
	AssessedBy    string    `json:"assessed_by"`
	AssessedAt    time.Time `json:"assessed_at"`
	SignedOffBy   string    `json:"signed_off_by,omitempty"`
	SignedOffAt   time.Time `json:"signed_off_at,omitempty"`
	// Previous is the assessment before's scores of the risk; nil: first
	// assessed now.
	Previous *Previous `json:"previous"`
}

// Previous is what the assessment before recorded.
type Previous struct {
	AssessmentID  string `json:"assessment_id"`
	Score         int    `json:"score"`
	ResidualScore int    `json:"residual_score"`
	Treatment     string `json:"treatment"`
}

// Change says how the risk moved since the assessment before.
func (s Scored) Change() []string {
	p := s.Previous
	if p == nil {
		if s.Proposed {
			return []string{"new"}
		}
		return []string{"first assessed"}
	}
	var out []string
	if p.Score != s.Score {
		out = append(out, fmt.Sprintf("score %d->%d", p.Score, s.Score))
	}
	if p.ResidualScore != s.ResidualScore {
		out = append(out, fmt.Sprintf("residual %d->%d", p.ResidualScore, s.ResidualScore))
	}
	if p.Treatment != s.Treatment {
		out = append(out, fmt.Sprintf("treatment %s->%s", p.Treatment, s.Treatment))
	}
	if out == nil {
		out = []string{"unchanged"}
	}
	return out
}

// History is every risk as every assessment (of year, when not zero) kept
// it, oldest assessment first.
func History(ctx context.Context, q sqlx.QueryerContext, year int) ([]Scored, error) {
	rows, err := q.QueryxContext(ctx, `
		WITH last AS (
			SELECT DISTINCT ON (s.assessment_id, s.risk_id) s.*, a.year, a.opened_at, a.signed_off_by, a.signed_off_at
			FROM risk_assessment_scores s JOIN risk_assessments a ON a.id = s.assessment_id
			ORDER BY s.assessment_id, s.risk_id, s.round DESC),
		ordered AS (
			SELECT l.*, lag(l.assessment_id) OVER w AS prev_id, lag(l.likelihood * l.impact) OVER w AS prev_score,
				lag(l.residual_likelihood * l.residual_impact) OVER w AS prev_residual, lag(l.treatment) OVER w AS prev_treatment
			FROM last l WINDOW w AS (PARTITION BY l.risk_id ORDER BY l.opened_at, l.assessment_id))
		SELECT o.year, o.assessment_id, o.risk_id, r.title, o.likelihood, o.impact, o.residual_likelihood * o.residual_impact,
			o.treatment, o.justification, o.control_ids, o.proposed, o.assessed_by, o.assessed_at,
			coalesce(o.signed_off_by, ''), o.signed_off_at, o.prev_id, o.prev_score, o.prev_residual, o.prev_treatment
		FROM ordered o JOIN risks r ON r.id = o.risk_id
		WHERE $1 = 0 OR o.year = $1
		ORDER BY o.opened_at, o.assessment_id, o.risk_id`, year)
	if err != nil {
		return nil, fmt.Errorf("read risk assessments: %w", err)
	}
	defer rows.Close()
	out := []Scored{}
	for rows.Next() {
		var s Scored
		var signedAt pq.NullTime
		var prevID, prevTreatment *string
		var prevScore, prevResidual *int
		if err := rows.Scan(&s.Year, &s.AssessmentID, &s.RiskID, &s.Title, &s.Likelihood, &s.Impact, &s.ResidualScore, &s.Treatment,
			&s.Justification, pq.Array(&s.Controls), &s.Proposed, &s.AssessedBy, &s.AssessedAt, &s.SignedOffBy, &signedAt,
			&prevID, &prevScore, &prevResidual, &prevTreatment); err != nil {
			return nil, err
		}
		s.Score = s.Likelihood * s.Impact
		s.SignedOffAt = signedAt.Time
		if prevID != nil {
			s.Previous = &Previous{AssessmentID: *prevID, Score: *prevScore, ResidualScore: *prevResidual, Treatment: *prevTreatment}
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
