package campaign

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// AcknowledgementFilter picks the acknowledgements `starter records
// acknowledgements` prints (issue 11 item 10): a person's, a policy's (at one
// version, if given) or a campaign's.
type AcknowledgementFilter struct {
	PersonID, PolicyID, Version, CampaignID string
}

// ListAcknowledgements reads the acknowledgements f picks, oldest first.
func ListAcknowledgements(ctx context.Context, q sqlx.QueryerContext, f AcknowledgementFilter) ([]Acknowledgement, error) {
	var rows []Acknowledgement
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT campaign_id, person_id, email, policy_id, version, text_sha256, channel, at, client_addr, user_agent, seal
		FROM acknowledgements
		WHERE ($1 = '' OR person_id = $1) AND ($2 = '' OR policy_id = $2) AND ($3 = '' OR version = $3) AND ($4 = '' OR campaign_id = $4)
		ORDER BY at, id`, f.PersonID, f.PolicyID, f.Version, f.CampaignID); err != nil {
		return nil, fmt.Errorf("read acknowledgements: %w", err)
	}
	return rows, nil
}

// TrainingFilter picks training completions: a person's, a training's or a
// campaign's.
type TrainingFilter struct {
	PersonID, TrainingID, CampaignID string
}

// ListTrainingCompletions reads the completions f picks, oldest first.
func ListTrainingCompletions(ctx context.Context, q sqlx.QueryerContext, f TrainingFilter) ([]TrainingCompletion, error) {
	var rows []TrainingCompletion
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT campaign_id, person_id, email, training_id, content_sha256, score, out_of, channel, at, client_addr, user_agent, seal
		FROM training_completions
		WHERE ($1 = '' OR person_id = $1) AND ($2 = '' OR training_id = $2) AND ($3 = '' OR campaign_id = $3)
		ORDER BY at, id`, f.PersonID, f.TrainingID, f.CampaignID); err != nil {
		return nil, fmt.Errorf("read training completions: %w", err)
	}
	return rows, nil
}
