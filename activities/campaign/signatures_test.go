package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/internal/testenv"
)

// The seals recompute from the stored rows with the SQL their comments give
// an auditor, and a changed field breaks them.
func TestSealsRecomputeInSQLAndBreakWhenEdited(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedCampaignProgram(t, db)
	testenv.SeedAcknowledgementCampaign(t, db, "ack-1", "eve")
	testenv.SeedTrainingCampaign(t, db, "tr-1", "eve")
	r := campaign.NewRecorder(db.App)
	defer r.Close()
	var sha string
	db.App.Get(&sha, `SELECT content_sha256 FROM trainings WHERE id = 'awareness'`)
	for _, req := range []campaign.SignRequest{
		{CampaignID: "ack-1", PersonID: "eve", Channel: "portal", ClientAddr: "2001:db8::1", UserAgent: "Mozilla/5.0 «ünïcode»"},
		{CampaignID: "tr-1", PersonID: "eve", Channel: "slack", ClientAddr: "192.0.2.9", UserAgent: "ua", ContentSHA256: sha, Answers: [][]int{{1}, {0}, {2}}},
	} {
		if res, err := r.Sign(context.Background(), req); err != nil || res.Outcome != campaign.Recorded {
			t.Fatalf("sign %s: %+v, %v", req.CampaignID, res, err)
		}
	}
	var mismatched int
	if err := db.App.Get(&mismatched, `
		SELECT (SELECT count(*) FROM acknowledgements WHERE seal <> encode(sha256(convert_to(concat_ws(E'\x1f', 'complyflow-acknowledgement-v1',
		           campaign_id, person_id, email, policy_id, version, text_sha256, channel,
		           to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"000Z"'), client_addr, user_agent), 'UTF8')), 'hex'))
		     + (SELECT count(*) FROM training_completions WHERE seal <> encode(sha256(convert_to(concat_ws(E'\x1f', 'complyflow-training-v1',
		           campaign_id, person_id, email, training_id, content_sha256, score, out_of, channel,
		           to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"000Z"'), client_addr, user_agent), 'UTF8')), 'hex'))`); err != nil {
		t.Fatal(err)
	}
	if mismatched != 0 {
		t.Errorf("%d seals do not recompute in SQL", mismatched)
	}

	acks, _ := campaign.ListAcknowledgements(context.Background(), db.App, campaign.AcknowledgementFilter{PersonID: "eve"})
	cs, _ := campaign.ListTrainingCompletions(context.Background(), db.App, campaign.TrainingFilter{CampaignID: "tr-1"})
	if len(acks) != 2 || len(cs) != 1 || !acks[0].SealVerifies() || !cs[0].SealVerifies() {
		t.Fatalf("stored rows: %+v %+v", acks, cs)
	}
	edited := acks[0]
	edited.Version = "2026.1"
	later := cs[0]
	later.At = later.At.Add(time.Microsecond)
	if edited.SealVerifies() || later.SealVerifies() {
		t.Error("an edited version or time still verifies")
	}
	// The separator keeps apart fields whose joined text is the same.
	a, b := edited, edited
	a.ClientAddr, a.UserAgent = "10.0.0.1 x", "y"
	b.ClientAddr, b.UserAgent = "10.0.0.1", "x y"
	if campaign.SealAcknowledgement(a) == campaign.SealAcknowledgement(b) {
		t.Error("moving text between fields keeps the seal")
	}
}

func TestScoreCountsExactAnswers(t *testing.T) {
	quiz := []campaign.Question{
		{Choices: []string{"a", "b"}, Correct: []int{1}},
		{Choices: []string{"a", "b", "c"}, Correct: []int{0, 2}},
		{Choices: []string{"a", "b"}, Correct: []int{0}},
	}
	for _, c := range []struct {
		answers [][]int
		score   int
		err     bool
	}{
		{[][]int{{1}, {2, 0}, {0}}, 3, false},
		{[][]int{{1}, {0}, {0}}, 2, false},          // half of a two-answer question is wrong
		{[][]int{{1}, {0, 1, 2}, {0, 1}}, 1, false}, // more than the right choices is wrong
		{[][]int{{1}}, 1, false},                    // unanswered questions are wrong
		{nil, 0, false},
		{[][]int{{1}, {0}, {0}, {0}}, 0, true}, // a fourth question
		{[][]int{{2}}, 0, true},                // a third choice
	} {
		score, err := campaign.Score(quiz, c.answers)
		if score != c.score || (err != nil) != c.err {
			t.Errorf("Score(%v) = %d, %v; want %d, error %v", c.answers, score, err, c.score, c.err)
		}
	}
}
