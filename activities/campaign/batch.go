package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
)

// Audit actions of a signature (issue 11 item 9: "written through the audit log").
const (
	ActionAcknowledged      = "policy.acknowledged"
	ActionTrainingCompleted = "training.completed"
)

// SignatureKey is the audit entry's idempotency key of a person's signature
// in a campaign: one per person and campaign, however often they click.
func SignatureKey(campaignID, personID string) string {
	return "signature/" + campaignID + "/" + personID
}

// terms is what a campaign asks its people to sign.
type terms struct {
	ID            string         `db:"id"`
	Kind          string         `db:"kind"`
	Title         string         `db:"title"`
	Controls      pq.StringArray `db:"control_ids"`
	TrainingID    string         `db:"training_id"`
	TrainingFound bool           `db:"training_found"`
	ContentSHA256 string         `db:"content_sha256"`
	QuizJSON      []byte         `db:"quiz"`
	PassMark      int            `db:"pass_mark"`
	PoliciesJSON  []byte         `db:"policies"`
}

// signing is one request on its way through a batch.
type signing struct {
	req    SignRequest
	at     time.Time
	key    string
	terms  *terms
	res    *Result
	dupOf  int  // the batch's first request for the same assignment, or -1
	settle bool // checked and not yet answered: the database decides
	passed bool // may complete the assignment (a training's answers reach the pass mark)
}

// writeBatch records a batch in one transaction and answers each request.
// In order: the checks in Go; the campaigns' terms; one statement per kind
// that moves the assignments from pending to completed (the one arbiter: a
// second click, another portal's batch, or a leaver's closing finds the row
// no longer pending) and inserts the sealed signatures of those it moved;
// why the others were not moved; and last, the audit entries, so the chain
// lock is held for as short a time as the transaction allows. Each step is
// one round trip whatever the batch's size: on a busy machine the round
// trips, not the rows, are most of a batch's time.
func writeBatch(ctx context.Context, db *sqlx.DB, cache *termsCache, batch []*pendingSignature) ([]Result, error) {
	results := make([]Result, len(batch))
	ss := make([]*signing, len(batch))
	first := map[string]int{}
	var campaignIDs []string
	for i, p := range batch {
		req := p.req
		req.ClientAddr, req.UserAgent = clientText(req.ClientAddr), clientText(req.UserAgent)
		s := &signing{req: req, at: p.at, key: req.CampaignID + "\x1f" + req.PersonID, res: &results[i], dupOf: -1}
		ss[i] = s
		switch {
		case badID(req.CampaignID) || badID(req.PersonID):
			*s.res = Result{Outcome: Refused, Reason: "the link names no campaign or person that can sign"}
		case req.Channel != ChannelPortal && req.Channel != ChannelSlack:
			*s.res = Result{Outcome: Refused, Reason: fmt.Sprintf("%q is not a channel a signature arrives by", req.Channel)}
		default:
			if j, ok := first[s.key]; ok {
				s.dupOf = j
				continue
			}
			first[s.key] = i
			s.settle = true
			campaignIDs = append(campaignIDs, req.CampaignID)
		}
	}

	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	byID, err := cache.load(ctx, tx, campaignIDs)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if s.settle {
			checkAgainstTerms(s, byID[s.req.CampaignID])
		}
	}
	entries, err := recordSignatures(ctx, tx, ss)
	if err != nil {
		return nil, err
	}
	if err := explainUnrecorded(ctx, tx, ss); err != nil {
		return nil, err
	}
	if err := audit.WriteBatch(ctx, tx, entries); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	for _, s := range ss {
		if s.dupOf >= 0 {
			*s.res = *ss[s.dupOf].res
			if s.res.Outcome == Recorded {
				s.res.Outcome = AlreadyRecorded
			}
		}
	}
	return results, nil
}

// checkAgainstTerms refuses what the campaign cannot take and scores a
// training's answers; what passes is left for the database to settle.
func checkAgainstTerms(s *signing, t *terms) {
	refuse := func(format string, args ...any) {
		s.res.Outcome, s.res.Reason, s.settle = Refused, fmt.Sprintf(format, args...), false
	}
	if t == nil {
		refuse("there is no campaign %s", s.req.CampaignID)
		return
	}
	s.terms = t
	*s.res = Result{Kind: t.Kind, Title: t.Title}
	switch t.Kind {
	case KindAcknowledgement:
		if err := json.Unmarshal(t.PoliciesJSON, &s.res.Policies); err != nil || len(s.res.Policies) == 0 {
			refuse("campaign %s has no policy to accept", t.ID)
			return
		}
		s.passed = true
	case KindTraining:
		var quiz []Question
		if !t.TrainingFound || json.Unmarshal(t.QuizJSON, &quiz) != nil {
			refuse("the training of campaign %s is not in the program", t.ID)
			return
		}
		if s.req.ContentSHA256 != t.ContentSHA256 {
			refuse("the training has changed since this page was opened; reload it and answer again")
			return
		}
		score, err := Score(quiz, s.req.Answers)
		if err != nil {
			refuse("%v", err)
			return
		}
		s.res.Score, s.res.OutOf, s.res.PassMark = score, len(quiz), t.PassMark
		s.passed = score >= t.PassMark
	default:
		refuse("campaign %s is of kind %q, which takes no signature", t.ID, t.Kind)
	}
}
