package campaign

import (
	"context"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// termsCache keeps the terms of acknowledgement campaigns, which never
// change once opened (the application may not update campaigns or
// campaign_policies, schema/0011_campaigns.sql), so a campaign's batches
// after its first skip reading them. A training campaign's terms are read
// for every batch: a training's content and quiz may be updated.
type termsCache struct {
	mu    sync.Mutex
	terms map[string]*terms
}

// termsCacheMax bounds the campaigns kept; past it the cache starts again.
const termsCacheMax = 1000

// load returns the terms of the campaigns named that exist.
func (c *termsCache) load(ctx context.Context, q sqlx.QueryerContext, ids []string) (map[string]*terms, error) {
	byID := make(map[string]*terms, len(ids))
	var missing []string
	c.mu.Lock()
	for _, id := range ids {
		if t, ok := c.terms[id]; ok {
			byID[id] = t
		} else if _, seen := byID[id]; !seen {
			byID[id] = nil
			missing = append(missing, id)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return byID, nil
	}
	var rows []*terms
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT c.id, c.kind, c.title, c.control_ids, c.training_id, t.id IS NOT NULL AS training_found,
		       coalesce(t.content_sha256, '') AS content_sha256, coalesce(t.quiz, '[]') AS quiz, coalesce(t.pass_mark, 0) AS pass_mark,
		       coalesce((SELECT json_agg(json_build_object('policy_id', p.policy_id, 'version', p.version, 'text_sha256', p.text_sha256)
		                 ORDER BY p.policy_id) FROM campaign_policies p WHERE p.campaign_id = c.id), '[]') AS policies
		FROM campaigns c LEFT JOIN trainings t ON t.id = c.training_id AND c.kind = 'training'
		WHERE c.id = ANY($1)`, pq.Array(missing)); err != nil {
		return nil, fmt.Errorf("load campaigns: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.terms == nil || len(c.terms) >= termsCacheMax {
		c.terms = map[string]*terms{}
	}
	for _, t := range rows {
		byID[t.ID] = t
		if t.Kind == KindAcknowledgement && string(t.PoliciesJSON) != "[]" {
			c.terms[t.ID] = t
		}
	}
	for id, t := range byID {
		if t == nil {
			delete(byID, id)
		}
	}
	return byID, nil
}
