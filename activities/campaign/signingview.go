package campaign

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/directory"
)

// SigningView is what the signing page shows a person for their assignment
// in a campaign (issue 11 item 8: "a page showing each policy (title,
// version, its text or a link to it)"; "a training page shows the content
// and the quiz"). Reading it changes nothing.
type SigningView struct {
	CampaignID string    `db:"id"`
	Kind       string    `db:"kind"`
	Title      string    `db:"title"`
	TrainingID string    `db:"training_id"`
	PersonName string    `db:"person_name"`
	DueAt      time.Time `db:"due_at"`
	// Status is the assignment's (pending, completed, left); "" when the
	// person has none in the campaign.
	Status string `db:"status"`
	// LeftOn is the directory's end date of a person who has left.
	LeftOn *time.Time `db:"left_on"`
	// SignedAt is a completed assignment's first signature.
	SignedAt *time.Time `db:"signed_at"`

	Policies []PolicyDocument
	Training TrainingDocument
}

// PolicyDocument is one policy version of an acknowledgement campaign with
// its document: the text accepted (policy_versions.body) or where it lives
// (reference). Found is false when no version has the campaign's version
// and text hash: the page then offers nothing to accept.
type PolicyDocument struct {
	CampaignPolicy
	Title     string `db:"title"`
	Body      string `db:"body"`
	Reference string `db:"reference"`
	Found     bool   `db:"found"`
}

// TrainingDocument is a training's content (its text, or the URL it is at)
// and its quiz.
type TrainingDocument struct {
	Title         string `db:"title"`
	Source        string `db:"source"`
	Content       string `db:"content"`
	ContentSHA256 string `db:"content_sha256"`
	QuizJSON      []byte `db:"quiz"`
	PassMark      int    `db:"pass_mark"`
	Quiz          []Question
}

// LoadSigningView reads the page of personID's assignment in campaignID;
// found is false when there is no such campaign.
func LoadSigningView(ctx context.Context, q sqlx.QueryerContext, campaignID, personID string) (v SigningView, found bool, err error) {
	err = sqlx.GetContext(ctx, q, &v, `
		SELECT c.id, c.kind, c.title, c.training_id, coalesce(p.name, '') AS person_name,
		       coalesce(a.due_at, c.due_at) AS due_at, coalesce(a.status, '') AS status,
		       CASE WHEN NOT `+directory.NotLeft+` THEN p.end_date::timestamptz END AS left_on,
		       coalesce((SELECT min(k.at) FROM acknowledgements k WHERE k.campaign_id = c.id AND k.person_id = $2),
		                (SELECT min(t.at) FROM training_completions t WHERE t.campaign_id = c.id AND t.person_id = $2),
		                CASE WHEN a.status = 'completed' THEN a.closed_at END) AS signed_at
		FROM campaigns c
		LEFT JOIN assignments a ON a.campaign_id = c.id AND a.person_id = $2
		LEFT JOIN people p ON p.id = $2
		WHERE c.id = $1`, campaignID, personID)
	if errors.Is(err, sql.ErrNoRows) {
		return SigningView{}, false, nil
	}
	if err != nil {
		return SigningView{}, false, fmt.Errorf("load campaign %s: %w", campaignID, err)
	}
	switch v.Kind {
	case KindAcknowledgement:
		err = sqlx.SelectContext(ctx, q, &v.Policies, `
			SELECT cp.policy_id, cp.version, cp.text_sha256, coalesce(p.title, cp.policy_id) AS title,
			       coalesce(pv.body, '') AS body, coalesce(pv.reference, '') AS reference, pv.policy_id IS NOT NULL AS found
			FROM campaign_policies cp
			LEFT JOIN policies p ON p.id = cp.policy_id
			LEFT JOIN policy_versions pv ON pv.policy_id = cp.policy_id AND pv.version = cp.version AND pv.content_sha256 = cp.text_sha256
			WHERE cp.campaign_id = $1 ORDER BY cp.policy_id`, campaignID)
	case KindTraining:
		err = sqlx.GetContext(ctx, q, &v.Training, `
			SELECT title, source, content, content_sha256, quiz, pass_mark FROM trainings WHERE id = $1`, v.TrainingID)
		if err == nil {
			err = json.Unmarshal(v.Training.QuizJSON, &v.Training.Quiz)
		} else if errors.Is(err, sql.ErrNoRows) {
			err = fmt.Errorf("the training %s is not in the program", v.TrainingID)
		}
	}
	if err != nil {
		return SigningView{}, false, fmt.Errorf("load campaign %s: %w", campaignID, err)
	}
	return v, true, nil
}

// Signable reports whether the page may offer to sign: the person has a
// pending assignment, has not left, and every document is there to read.
func (v SigningView) Signable() bool {
	if v.Status != "pending" || v.LeftOn != nil {
		return false
	}
	for _, p := range v.Policies {
		if !p.Found {
			return false
		}
	}
	return v.Kind == KindTraining || len(v.Policies) > 0
}
