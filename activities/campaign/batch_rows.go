package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
)

// acknowledgementDetail and trainingDetail are a signature's audit entry's
// detail: every field of the record(s) and the seal(s) (issue 11 item 9).
type acknowledgementDetail struct {
	Campaign   string               `json:"campaign"`
	Person     string               `json:"person"`
	Email      string               `json:"email"`
	Channel    string               `json:"channel"`
	At         string               `json:"at"`
	ClientAddr string               `json:"client_addr"`
	UserAgent  string               `json:"user_agent"`
	Policies   []acknowledgedPolicy `json:"policies"`
}

type acknowledgedPolicy struct {
	Policy     string `json:"policy"`
	Version    string `json:"version"`
	TextSHA256 string `json:"text_sha256"`
	Seal       string `json:"seal"`
}

type trainingDetail struct {
	Campaign      string `json:"campaign"`
	Person        string `json:"person"`
	Email         string `json:"email"`
	Channel       string `json:"channel"`
	At            string `json:"at"`
	ClientAddr    string `json:"client_addr"`
	UserAgent     string `json:"user_agent"`
	Training      string `json:"training"`
	ContentSHA256 string `json:"content_sha256"`
	Score         int    `json:"score"`
	OutOf         int    `json:"out_of"`
	Seal          string `json:"seal"`
}

// insertSignatures writes the sealed records of the assignments
// completeAssignments moved (one acknowledgement per policy of the campaign,
// or the training's completion) and returns their audit entries. A request
// whose records were all there already stays for explainUnrecorded.
func insertSignatures(ctx context.Context, tx *sqlx.Tx, ss []*signing, emails map[string]string) ([]audit.Entry, error) {
	var acks []Acknowledgement
	var completions []TrainingCompletion
	for _, s := range ss {
		email, moved := emails[s.key]
		if !s.settle || !moved {
			continue
		}
		r := s.req
		if s.terms.Kind == KindTraining {
			c := TrainingCompletion{CampaignID: r.CampaignID, PersonID: r.PersonID, Email: email, TrainingID: s.terms.TrainingID,
				ContentSHA256: s.terms.ContentSHA256, Score: s.res.Score, OutOf: s.res.OutOf, Channel: r.Channel, At: s.at,
				ClientAddr: r.ClientAddr, UserAgent: r.UserAgent}
			c.Seal = SealTrainingCompletion(c)
			completions = append(completions, c)
			continue
		}
		for _, p := range s.res.Policies {
			a := Acknowledgement{CampaignID: r.CampaignID, PersonID: r.PersonID, Email: email, PolicyID: p.PolicyID, Version: p.Version,
				TextSHA256: p.TextSHA256, Channel: r.Channel, At: s.at, ClientAddr: r.ClientAddr, UserAgent: r.UserAgent}
			a.Seal = SealAcknowledgement(a)
			acks = append(acks, a)
		}
	}
	newAcks, err := insertAcknowledgements(ctx, tx, acks)
	if err != nil {
		return nil, err
	}
	newCompletions, err := insertCompletions(ctx, tx, completions)
	if err != nil {
		return nil, err
	}

	var entries []audit.Entry
	for _, s := range ss {
		if !s.settle {
			continue
		}
		var detail any
		action := ActionAcknowledged
		if c, ok := newCompletions[s.key]; ok {
			action = ActionTrainingCompleted
			detail = trainingDetail{Campaign: c.CampaignID, Person: c.PersonID, Email: c.Email, Channel: c.Channel,
				At: c.At.UTC().Format(sealTimeLayout), ClientAddr: c.ClientAddr, UserAgent: c.UserAgent, Training: c.TrainingID,
				ContentSHA256: c.ContentSHA256, Score: c.Score, OutOf: c.OutOf, Seal: c.Seal}
		} else if as := newAcks[s.key]; len(as) > 0 {
			d := acknowledgementDetail{Campaign: as[0].CampaignID, Person: as[0].PersonID, Email: as[0].Email, Channel: as[0].Channel,
				At: as[0].At.UTC().Format(sealTimeLayout), ClientAddr: as[0].ClientAddr, UserAgent: as[0].UserAgent}
			for _, a := range as {
				d.Policies = append(d.Policies, acknowledgedPolicy{Policy: a.PolicyID, Version: a.Version, TextSHA256: a.TextSHA256, Seal: a.Seal})
			}
			detail = d
		} else {
			continue
		}
		s.res.Outcome, s.res.At, s.settle = Recorded, s.at, false
		entries = append(entries, audit.Entry{Actor: s.req.PersonID, Action: action, Subject: s.req.CampaignID,
			Controls: s.terms.Controls, Detail: detail, Key: SignatureKey(s.req.CampaignID, s.req.PersonID)})
	}
	return entries, nil
}

// insertAcknowledgements inserts the rows in one statement and returns those
// that were new, by request key.
func insertAcknowledgements(ctx context.Context, tx *sqlx.Tx, acks []Acknowledgement) (map[string][]Acknowledgement, error) {
	out := map[string][]Acknowledgement{}
	if len(acks) == 0 {
		return out, nil
	}
	cols := make([][]string, 11)
	for _, a := range acks {
		for i, v := range []string{a.CampaignID, a.PersonID, a.Email, a.PolicyID, a.Version, a.TextSHA256, a.Channel,
			a.At.Format(time.RFC3339Nano), a.ClientAddr, a.UserAgent, a.Seal} {
			cols[i] = append(cols[i], v)
		}
	}
	var inserted []struct {
		Campaign string `db:"campaign_id"`
		Person   string `db:"person_id"`
		Policy   string `db:"policy_id"`
	}
	if err := sqlx.SelectContext(ctx, tx, &inserted, `
		INSERT INTO acknowledgements (campaign_id, person_id, email, policy_id, version, text_sha256, channel, at, client_addr, user_agent, seal)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		                     $8::timestamptz[], $9::text[], $10::text[], $11::text[])
		ON CONFLICT (campaign_id, person_id, policy_id) DO NOTHING
		RETURNING campaign_id, person_id, policy_id`, arrays(cols)...); err != nil {
		return nil, fmt.Errorf("insert acknowledgements: %w", err)
	}
	isNew := map[[3]string]bool{}
	for _, r := range inserted {
		isNew[[3]string{r.Campaign, r.Person, r.Policy}] = true
	}
	for _, a := range acks {
		if isNew[[3]string{a.CampaignID, a.PersonID, a.PolicyID}] {
			k := a.CampaignID + "\x1f" + a.PersonID
			out[k] = append(out[k], a)
		}
	}
	return out, nil
}

// insertCompletions inserts the rows in one statement and returns those that
// were new, by request key.
func insertCompletions(ctx context.Context, tx *sqlx.Tx, cs []TrainingCompletion) (map[string]TrainingCompletion, error) {
	out := map[string]TrainingCompletion{}
	if len(cs) == 0 {
		return out, nil
	}
	cols := make([][]string, 10)
	var scores, outOfs []int64
	for _, c := range cs {
		for i, v := range []string{c.CampaignID, c.PersonID, c.Email, c.TrainingID, c.ContentSHA256, c.Channel,
			c.At.Format(time.RFC3339Nano), c.ClientAddr, c.UserAgent, c.Seal} {
			cols[i] = append(cols[i], v)
		}
		scores, outOfs = append(scores, int64(c.Score)), append(outOfs, int64(c.OutOf))
	}
	var inserted []struct {
		Campaign string `db:"campaign_id"`
		Person   string `db:"person_id"`
	}
	if err := sqlx.SelectContext(ctx, tx, &inserted, `
		INSERT INTO training_completions (campaign_id, person_id, email, training_id, content_sha256, channel, at, client_addr, user_agent, seal, score, out_of)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
		                     $8::text[], $9::text[], $10::text[], $11::int[], $12::int[])
		ON CONFLICT (campaign_id, person_id) DO NOTHING
		RETURNING campaign_id, person_id`, append(arrays(cols), pq.Array(scores), pq.Array(outOfs))...); err != nil {
		return nil, fmt.Errorf("insert training completions: %w", err)
	}
	isNew := map[[2]string]bool{}
	for _, r := range inserted {
		isNew[[2]string{r.Campaign, r.Person}] = true
	}
	for _, c := range cs {
		if isNew[[2]string{c.CampaignID, c.PersonID}] {
			out[c.CampaignID+"\x1f"+c.PersonID] = c
		}
	}
	return out, nil
}

func arrays(cols [][]string) []any {
	args := make([]any, len(cols))
	for i, c := range cols {
		args[i] = pq.Array(c)
	}
	return args
}

// explainUnrecorded answers the requests that passed the checks but recorded
// nothing: the person signed before (the first signature's time), has left,
// has no assignment in the campaign, or scored under the pass mark.
func explainUnrecorded(ctx context.Context, tx *sqlx.Tx, ss []*signing) error {
	var campaigns, people []string
	var waiting []*signing
	for _, s := range ss {
		if s.settle {
			campaigns, people, waiting = append(campaigns, s.req.CampaignID), append(people, s.req.PersonID), append(waiting, s)
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	var rows []struct {
		N        int        `db:"n"`
		Status   string     `db:"status"`
		Left     bool       `db:"left_directory"`
		EndDate  *time.Time `db:"end_date"`
		SignedAt *time.Time `db:"signed_at"`
	}
	if err := sqlx.SelectContext(ctx, tx, &rows, `
		SELECT r.n, coalesce(a.status, '') AS status, coalesce(NOT `+directory.NotLeft+`, false) AS left_directory, p.end_date,
		       coalesce((SELECT min(k.at) FROM acknowledgements k WHERE k.campaign_id = r.campaign_id AND k.person_id = r.person_id),
		                (SELECT min(t.at) FROM training_completions t WHERE t.campaign_id = r.campaign_id AND t.person_id = r.person_id),
		                a.closed_at) AS signed_at
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(campaign_id, person_id, n)
		LEFT JOIN assignments a ON a.campaign_id = r.campaign_id AND a.person_id = r.person_id
		LEFT JOIN people p ON p.id = r.person_id`, pq.Array(campaigns), pq.Array(people)); err != nil {
		return fmt.Errorf("read unrecorded signatures: %w", err)
	}
	for _, row := range rows {
		s := waiting[row.N-1]
		refuse := func(reason string) { s.res.Outcome, s.res.Reason = Refused, reason }
		switch {
		case row.Status == "completed":
			s.res.Outcome = AlreadyRecorded
			if row.SignedAt != nil {
				s.res.At = *row.SignedAt
			}
		case row.Status == "":
			refuse(fmt.Sprintf("%s is not asked to sign in campaign %s", s.req.PersonID, s.req.CampaignID))
		case row.Left && row.EndDate != nil:
			refuse(fmt.Sprintf("%s has left (end date %s in the directory) and may no longer sign", s.req.PersonID, row.EndDate.Format("2 Jan 2006")))
		case row.Status == "left" || row.Left:
			refuse(fmt.Sprintf("%s has left, and their assignment was closed", s.req.PersonID))
		case !s.passed:
			s.res.Outcome = BelowPassMark
		default:
			refuse("the signature could not be recorded just now; please try again")
		}
		s.settle = false
	}
	return nil
}
