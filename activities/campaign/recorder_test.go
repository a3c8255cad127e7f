package campaign_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/testenv"
)

func sign(t *testing.T, r *campaign.Recorder, req campaign.SignRequest) campaign.Result {
	t.Helper()
	res, err := r.Sign(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// An acknowledgement records one sealed row per policy of the campaign, with
// the version and text hash the campaign names, completes the assignment and
// writes one audit entry per control; a second signature records nothing new
// and answers the first one's time (issue 11 items 8 and 9).
func TestRecorderAcknowledgementOnce(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedCampaignProgram(t, db)
	testenv.SeedAcknowledgementCampaign(t, db, "ack-1", "eve", "sam")
	r := campaign.NewRecorder(db.App)
	defer r.Close()

	req := campaign.SignRequest{CampaignID: "ack-1", PersonID: "eve", Channel: campaign.ChannelSlack, ClientAddr: "192.0.2.7", UserAgent: "Mozilla/5.0 (test)"}
	before := time.Now()
	res := sign(t, r, req)
	if res.Outcome != campaign.Recorded || res.At.Before(before.Add(-time.Millisecond)) || res.Title != "Annual policy acknowledgement" || len(res.Policies) != 2 {
		t.Fatalf("first signature: %+v", res)
	}
	acks, err := campaign.ListAcknowledgements(context.Background(), db.App, campaign.AcknowledgementFilter{CampaignID: "ack-1"})
	if err != nil {
		t.Fatal(err)
	}
	var conductSHA string
	db.App.Get(&conductSHA, `SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')`, testenv.ConductText)
	want := map[string]string{"aup": "2024.1", "conduct": "2025.1"}
	if len(acks) != 2 {
		t.Fatalf("%d acknowledgements, want 2: %+v", len(acks), acks)
	}
	for _, a := range acks {
		if a.PersonID != "eve" || a.Email != "eve@example.com" || want[a.PolicyID] != a.Version || a.Channel != "slack" ||
			!a.At.Equal(res.At) || a.ClientAddr != "192.0.2.7" || a.UserAgent != "Mozilla/5.0 (test)" || !a.SealVerifies() {
			t.Errorf("acknowledgement %+v (seal verifies: %v)", a, a.SealVerifies())
		}
		if a.PolicyID == "conduct" && a.TextSHA256 != conductSHA {
			t.Errorf("conduct accepted with text hash %s, want the registered text's %s", a.TextSHA256, conductSHA)
		}
	}
	var status string
	db.App.Get(&status, `SELECT status FROM assignments WHERE campaign_id = 'ack-1' AND person_id = 'eve'`)
	if status != "completed" {
		t.Errorf("assignment %s, want completed", status)
	}
	var entries []struct {
		Actor   string `db:"actor"`
		Action  string `db:"action"`
		Subject string `db:"subject"`
		Control string `db:"control_id"`
		Key     string `db:"idempotency_key"`
		Detail  []byte `db:"detail"`
	}
	if err := db.App.Select(&entries, `SELECT actor, action, subject, control_id, idempotency_key, detail FROM audit_log ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d audit rows, want one per control (2): %+v", len(entries), entries)
	}
	for i, e := range entries {
		var d struct {
			Email    string `json:"email"`
			Policies []struct {
				Policy, Version, Seal string
			} `json:"policies"`
		}
		json.Unmarshal(e.Detail, &d)
		ctl := []string{"pa", "sat"}[i]
		if e.Actor != "eve" || e.Action != campaign.ActionAcknowledged || e.Subject != "ack-1" || e.Control != ctl ||
			e.Key != "signature/ack-1/eve#"+ctl || d.Email != "eve@example.com" || len(d.Policies) != 2 || d.Policies[0].Seal != acks[0].Seal && d.Policies[0].Seal != acks[1].Seal {
			t.Errorf("audit row %d: %+v %s", i+1, e, e.Detail)
		}
	}

	again := sign(t, r, req)
	if again.Outcome != campaign.AlreadyRecorded || !again.At.Equal(res.At) {
		t.Errorf("second signature: %+v, want already recorded at %v", again, res.At)
	}
	var n int
	db.App.Get(&n, `SELECT (SELECT count(*) FROM acknowledgements) + (SELECT count(*) FROM audit_log)`)
	if n != 4 {
		t.Errorf("after the second signature %d rows, want the first's 4", n)
	}
	if _, err := audit.Verify(context.Background(), db.App, audit.Options{}); err != nil {
		t.Error(err)
	}
}

// A training records its completion only at the pass mark, with the score
// computed from the quiz; under it nothing is recorded and the result says
// the score and the pass mark; a page showing content since changed is
// refused.
func TestRecorderTrainingPassMark(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedCampaignProgram(t, db)
	testenv.SeedTrainingCampaign(t, db, "tr-1", "eve")
	r := campaign.NewRecorder(db.App)
	defer r.Close()
	var sha string
	db.App.Get(&sha, `SELECT content_sha256 FROM trainings WHERE id = 'awareness'`)
	req := campaign.SignRequest{CampaignID: "tr-1", PersonID: "eve", Channel: campaign.ChannelPortal, ClientAddr: "192.0.2.8", UserAgent: "ua", ContentSHA256: sha}

	req.Answers = [][]int{{1}, {1}, {0, 2}} // one right
	if res := sign(t, r, req); res.Outcome != campaign.BelowPassMark || res.Score != 1 || res.OutOf != 3 || res.PassMark != 2 {
		t.Errorf("one right: %+v, want below the pass mark 2 with 1 of 3", res)
	}
	stale := req
	stale.ContentSHA256 = "0000"
	stale.Answers = [][]int{{1}, {0}, {2}}
	if res := sign(t, r, stale); res.Outcome != campaign.Refused {
		t.Errorf("answers to changed content: %+v, want refused", res)
	}
	var n int
	db.App.Get(&n, `SELECT (SELECT count(*) FROM training_completions) + (SELECT count(*) FROM audit_log) +
		(SELECT count(*) FROM assignments WHERE status <> 'pending')`)
	if n != 0 {
		t.Fatalf("%d rows recorded or changed under the pass mark, want none", n)
	}

	req.Answers = [][]int{{1}, {0}, {0}} // two right: the pass mark
	res := sign(t, r, req)
	if res.Outcome != campaign.Recorded || res.Score != 2 || res.OutOf != 3 {
		t.Fatalf("at the pass mark: %+v", res)
	}
	cs, err := campaign.ListTrainingCompletions(context.Background(), db.App, campaign.TrainingFilter{PersonID: "eve"})
	if err != nil || len(cs) != 1 {
		t.Fatalf("completions %+v, %v", cs, err)
	}
	if c := cs[0]; c.Score != 2 || c.OutOf != 3 || c.TrainingID != "awareness" || c.ContentSHA256 != sha || !c.SealVerifies() || !c.At.Equal(res.At) {
		t.Errorf("completion %+v", c)
	}
	var action string
	db.App.Get(&action, `SELECT action FROM audit_log WHERE idempotency_key = 'signature/tr-1/eve#sat'`)
	if action != campaign.ActionTrainingCompleted {
		t.Errorf("audit action %q", action)
	}
	if again := sign(t, r, req); again.Outcome != campaign.AlreadyRecorded || !again.At.Equal(res.At) {
		t.Errorf("second completion: %+v", again)
	}
}

// 32 clients signing for 600 people, each person twice at once: exactly one
// acknowledgement per policy and one audit entry per control for each, every
// caller told recorded or already recorded, and the chain verifies.
func TestRecorderConcurrentSignaturesRecordOnce(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedCampaignProgram(t, db)
	const people = 600
	db.Owner.MustExec(`INSERT INTO people (id, email, name) SELECT 'p' || i, 'p' || i || '@example.com', 'Person ' || i FROM generate_series(1, $1) i`, people)
	ids := make([]string, people)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%d", i+1)
	}
	testenv.SeedAcknowledgementCampaign(t, db, "ack-many", ids...)
	r := campaign.NewRecorder(db.App)
	defer r.Close()

	work := make(chan string)
	go func() {
		for _, id := range ids {
			work <- id
			work <- id
		}
		close(work)
	}()
	var mu sync.Mutex
	outcomes := map[campaign.Outcome]int{}
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				res, err := r.Sign(context.Background(), campaign.SignRequest{CampaignID: "ack-many", PersonID: id, Channel: "portal", ClientAddr: "127.0.0.1", UserAgent: "load"})
				mu.Lock()
				if err != nil {
					outcomes["error: "+campaign.Outcome(err.Error())]++
				} else {
					outcomes[res.Outcome]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if outcomes[campaign.Recorded] != people || outcomes[campaign.AlreadyRecorded] != people || len(outcomes) != 2 {
		t.Errorf("outcomes %v, want %d recorded and %d already recorded", outcomes, people, people)
	}
	var counts struct {
		Acks      int `db:"acks"`
		Distinct  int `db:"distinct_people"`
		Audit     int `db:"audit"`
		Completed int `db:"completed"`
	}
	db.App.Get(&counts, `SELECT (SELECT count(*) FROM acknowledgements) AS acks,
		(SELECT count(DISTINCT person_id) FROM acknowledgements) AS distinct_people,
		(SELECT count(*) FROM audit_log) AS audit,
		(SELECT count(*) FROM assignments WHERE status = 'completed') AS completed`)
	if counts.Acks != 2*people || counts.Distinct != people || counts.Audit != 2*people || counts.Completed != people {
		t.Errorf("recorded %+v, want %d acknowledgements of %d people, %d audit rows, %d completed", counts, 2*people, people, 2*people, people)
	}
	if res, err := audit.Verify(context.Background(), db.App, audit.Options{}); err != nil || res.Rows != 2*people {
		t.Errorf("chain: %d rows, %v", res.Rows, err)
	}
}

// After Close, Sign refuses at once rather than waiting.
func TestRecorderClosed(t *testing.T) {
	db := testenv.Postgres(t)
	r := campaign.NewRecorder(db.App)
	r.Close()
	if _, err := r.Sign(context.Background(), campaign.SignRequest{CampaignID: "x", PersonID: "y", Channel: "portal"}); err != campaign.ErrRecorderClosed {
		t.Errorf("Sign after Close: %v", err)
	}
}
