package campaign

import (
	"context"
	"fmt"
	"time"

	"slices"
	"strings"

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

// recordSignatures completes the assignments of the requests that passed and
// inserts their sealed records (one acknowledgement per policy of the
// campaign, or the training's completion), one statement per kind, and
// returns the audit entries of the new ones. A request whose assignment was
// not pending, or whose records were all there already, stays for
// explainUnrecorded.
func recordSignatures(ctx context.Context, tx *sqlx.Tx, ss []*signing) ([]audit.Entry, error) {
	var acks, trainings []*signing
	for _, s := range ss {
		if s.settle && s.passed {
			if s.terms.Kind == KindTraining {
				trainings = append(trainings, s)
			} else {
				acks = append(acks, s)
			}
		}
	}
	newAcks, err := recordAcknowledgements(ctx, tx, acks)
	if err != nil {
		return nil, err
	}
	newCompletions, err := recordCompletions(ctx, tx, trainings)
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

// requestColumns are the requests' own fields as arrays, in key order:
// concurrent batches then lock assignments in one order and do not
// deadlock.
func requestColumns(ss []*signing) []any {
	slices.SortFunc(ss, func(a, b *signing) int { return strings.Compare(a.key, b.key) })
	cols := make([][]string, 6)
	for _, s := range ss {
		for i, v := range []string{s.req.CampaignID, s.req.PersonID, s.req.Channel, s.at.Format(time.RFC3339Nano), s.req.ClientAddr, s.req.UserAgent} {
			cols[i] = append(cols[i], v)
		}
	}
	args := make([]any, len(cols))
	for i, c := range cols {
		args[i] = pq.Array(c)
	}
	return args
}

// movedAssignments is the start of both kinds' statements: each request's
// assignment, found by its key and locked (a LATERAL index look-up per
// request, whatever the table's statistics say, so a campaign's batches stay
// as fast at its 10,000th signature as at its first), if it is pending and
// the person has not left; then moved to completed by its row address.
const movedAssignments = `
	WITH r AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[])
		    WITH ORDINALITY AS r(campaign_id, person_id, channel, at, client_addr, user_agent, n)),
	m AS (
		SELECT r.*, x.tid, x.email FROM r,
		LATERAL (SELECT a.ctid AS tid, p.email FROM assignments a JOIN people p ON p.id = a.person_id
		         WHERE a.campaign_id = r.campaign_id AND a.person_id = r.person_id AND a.status = 'pending' AND ` + directory.NotLeft + `
		         FOR UPDATE OF a) AS x),
	moved AS (
		UPDATE assignments a SET status = 'completed' FROM m
		WHERE a.ctid = m.tid AND a.status = 'pending'
		RETURNING a.campaign_id, a.person_id)`

// recordAcknowledgements runs the acknowledgement statement and returns the
// new rows by request key, each seal checked against SealAcknowledgement.
func recordAcknowledgements(ctx context.Context, tx *sqlx.Tx, ss []*signing) (map[string][]Acknowledgement, error) {
	out := map[string][]Acknowledgement{}
	if len(ss) == 0 {
		return out, nil
	}
	var rows []Acknowledgement
	if err := sqlx.SelectContext(ctx, tx, &rows, movedAssignments+`
		INSERT INTO acknowledgements (campaign_id, person_id, email, policy_id, version, text_sha256, channel, at, client_addr, user_agent, seal)
		SELECT s.*, `+AcknowledgementSealSQL+` FROM (
			SELECT m.campaign_id, m.person_id, m.email, cp.policy_id, cp.version, cp.text_sha256, m.channel, m.at, m.client_addr, m.user_agent
			FROM m JOIN moved USING (campaign_id, person_id) JOIN campaign_policies cp ON cp.campaign_id = m.campaign_id
			ORDER BY m.n, cp.policy_id) AS s
		ON CONFLICT (campaign_id, person_id, policy_id) DO NOTHING
		RETURNING campaign_id, person_id, email, policy_id, version, text_sha256, channel, at, client_addr, user_agent, seal`,
		requestColumns(ss)...); err != nil {
		return nil, fmt.Errorf("record acknowledgements: %w", err)
	}
	for _, a := range rows {
		if !a.SealVerifies() {
			return nil, fmt.Errorf("record acknowledgements: the database sealed %s/%s/%s as %s, not as SealAcknowledgement does", a.CampaignID, a.PersonID, a.PolicyID, a.Seal)
		}
		k := a.CampaignID + "\x1f" + a.PersonID
		out[k] = append(out[k], a)
	}
	return out, nil
}

// recordCompletions runs the training statement and returns the new rows by
// request key, each seal checked against SealTrainingCompletion.
func recordCompletions(ctx context.Context, tx *sqlx.Tx, ss []*signing) (map[string]TrainingCompletion, error) {
	out := map[string]TrainingCompletion{}
	if len(ss) == 0 {
		return out, nil
	}
	args := requestColumns(ss)
	var trainings, hashes []string
	var scores, outOfs []int64
	for _, s := range ss {
		trainings, hashes = append(trainings, s.terms.TrainingID), append(hashes, s.terms.ContentSHA256)
		scores, outOfs = append(scores, int64(s.res.Score)), append(outOfs, int64(s.res.OutOf))
	}
	args = append(args, pq.Array(trainings), pq.Array(hashes), pq.Array(scores), pq.Array(outOfs))
	var rows []TrainingCompletion
	if err := sqlx.SelectContext(ctx, tx, &rows, movedAssignments+`,
	scored AS (
		SELECT * FROM unnest($7::text[], $8::text[], $9::int[], $10::int[]) WITH ORDINALITY AS t(training_id, content_sha256, score, out_of, n))
		INSERT INTO training_completions (campaign_id, person_id, email, training_id, content_sha256, score, out_of, channel, at, client_addr, user_agent, seal)
		SELECT s.*, `+TrainingSealSQL+` FROM (
			SELECT m.campaign_id, m.person_id, m.email, t.training_id, t.content_sha256, t.score, t.out_of, m.channel, m.at, m.client_addr, m.user_agent
			FROM m JOIN moved USING (campaign_id, person_id) JOIN scored t ON t.n = m.n
			ORDER BY m.n) AS s
		ON CONFLICT (campaign_id, person_id) DO NOTHING
		RETURNING campaign_id, person_id, email, training_id, content_sha256, score, out_of, channel, at, client_addr, user_agent, seal`,
		args...); err != nil {
		return nil, fmt.Errorf("record training completions: %w", err)
	}
	for _, c := range rows {
		if !c.SealVerifies() {
			return nil, fmt.Errorf("record training completions: the database sealed %s/%s as %s, not as SealTrainingCompletion does", c.CampaignID, c.PersonID, c.Seal)
		}
		out[c.CampaignID+"\x1f"+c.PersonID] = c
	}
	return out, nil
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
