package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
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
// In order: the checks in Go; the campaigns' terms; the assignments moved
// from pending to completed (the one arbiter: a second click, another
// portal's batch, or a leaver's closing finds the row no longer pending); the
// signatures of the assignments it moved; why the others were not moved; and
// last, the audit entries, so the chain lock is held for as short a time as
// the transaction allows.
func writeBatch(ctx context.Context, db *sqlx.DB, batch []*pendingSignature) ([]Result, error) {
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
	byID, err := loadTerms(ctx, tx, campaignIDs)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if s.settle {
			checkAgainstTerms(s, byID[s.req.CampaignID])
		}
	}
	emails, err := completeAssignments(ctx, tx, ss)
	if err != nil {
		return nil, err
	}
	entries, err := insertSignatures(ctx, tx, ss, emails)
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

// loadTerms reads the campaigns named, with their policies or their
// training's content hash, quiz and pass mark.
func loadTerms(ctx context.Context, q sqlx.QueryerContext, ids []string) (map[string]*terms, error) {
	var rows []*terms
	if len(ids) > 0 {
		if err := sqlx.SelectContext(ctx, q, &rows, `
			SELECT c.id, c.kind, c.title, c.control_ids, c.training_id, t.id IS NOT NULL AS training_found,
			       coalesce(t.content_sha256, '') AS content_sha256, coalesce(t.quiz, '[]') AS quiz, coalesce(t.pass_mark, 0) AS pass_mark,
			       coalesce((SELECT json_agg(json_build_object('policy_id', p.policy_id, 'version', p.version, 'text_sha256', p.text_sha256)
			                 ORDER BY p.policy_id) FROM campaign_policies p WHERE p.campaign_id = c.id), '[]') AS policies
			FROM campaigns c LEFT JOIN trainings t ON t.id = c.training_id AND c.kind = 'training'
			WHERE c.id = ANY($1)`, pq.Array(ids)); err != nil {
			return nil, fmt.Errorf("load campaigns: %w", err)
		}
	}
	byID := make(map[string]*terms, len(rows))
	for _, t := range rows {
		byID[t.ID] = t
	}
	return byID, nil
}

// checkAgainstTerms refuses what the campaign cannot take and scores a
// training's answers; what passes is left for the database to settle.
func checkAgainstTerms(s *signing, t *terms) {
	refuse := func(format string, args ...any) {
		*s.res = Result{Outcome: Refused, Reason: fmt.Sprintf(format, args...)}
		s.settle = false
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

// completeAssignments moves the assignments of the requests that passed from
// pending to completed, for people who have not left, and returns the email
// of each assignment it moved, by request key.
func completeAssignments(ctx context.Context, tx *sqlx.Tx, ss []*signing) (map[string]string, error) {
	var campaigns, people []string
	for _, s := range ss {
		if s.settle && s.passed {
			campaigns, people = append(campaigns, s.req.CampaignID), append(people, s.req.PersonID)
		}
	}
	emails := map[string]string{}
	if len(campaigns) == 0 {
		return emails, nil
	}
	var moved []struct {
		Campaign string `db:"campaign_id"`
		Person   string `db:"person_id"`
		Email    string `db:"email"`
	}
	// ORDER BY in the locking subquery: concurrent batches lock rows in one
	// order, which keeps two portals' batches from deadlocking each other.
	if err := sqlx.SelectContext(ctx, tx, &moved, `
		UPDATE assignments a SET status = 'completed'
		FROM (SELECT a.campaign_id, a.person_id, p.email
		      FROM unnest($1::text[], $2::text[]) AS r(campaign_id, person_id)
		      JOIN assignments a ON a.campaign_id = r.campaign_id AND a.person_id = r.person_id
		      JOIN people p ON p.id = a.person_id
		      WHERE a.status = 'pending' AND `+directory.NotLeft+`
		      ORDER BY a.campaign_id, a.person_id
		      FOR UPDATE OF a) AS m
		WHERE a.campaign_id = m.campaign_id AND a.person_id = m.person_id AND a.status = 'pending'
		RETURNING a.campaign_id, a.person_id, m.email`, pq.Array(campaigns), pq.Array(people)); err != nil {
		return nil, fmt.Errorf("complete assignments: %w", err)
	}
	for _, m := range moved {
		emails[m.Campaign+"\x1f"+m.Person] = m.Email
	}
	return emails, nil
}
