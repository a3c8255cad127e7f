package campaign

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
)

// One batch of good and bad requests: each bad one is refused for its own
// reason and records nothing, and the good ones are recorded (issue 11: one
// bad request must not fail the others; a leaver is refused).
func TestBatchRefusesBadRequestsAlone(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedCampaignProgram(t, db)
	testenv.SeedAcknowledgementCampaign(t, db, "ack-1", "eve", "sam", "lee", "pat")
	db.Owner.MustExec(`UPDATE assignments SET status = 'left' WHERE person_id = 'pat'`)
	at := time.Now().UTC().Truncate(time.Microsecond)
	req := func(campaign, person, channel string) *pendingSignature {
		return &pendingSignature{at: at, req: SignRequest{CampaignID: campaign, PersonID: person, Channel: channel, ClientAddr: "192.0.2.1", UserAgent: "ua\x1fwith\x00controls"}}
	}
	batch := []*pendingSignature{
		req("ack-1", "eve", "portal"),
		req("ack-1", "lee", "portal"),  // left: end date in the directory
		req("ack-1", "pat", "portal"),  // left: assignment closed
		req("ack-1", "coby", "portal"), // not assigned
		req("nope", "eve", "portal"),   // no such campaign
		req("ack-1", "sam", "fax"),     // no such channel
		req("ack-1", "eve", "slack"),   // the same person again in the batch
		req("ack-1", "sam", "portal"),  // good
		req("ack-1", "bad\x1fid", "portal"),
	}
	results, err := writeBatch(context.Background(), db.App, &termsCache{}, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		outcome Outcome
		reason  string
	}{
		{Recorded, ""},
		{Refused, "lee has left (end date 1 Jan 2020 in the directory)"},
		{Refused, "pat has left, and their assignment was closed"},
		{Refused, "coby is not asked to sign in campaign ack-1"},
		{Refused, "there is no campaign nope"},
		{Refused, `"fax" is not a channel`},
		{AlreadyRecorded, ""},
		{Recorded, ""},
		{Refused, "the link names no campaign or person"},
	}
	for i, w := range want {
		if results[i].Outcome != w.outcome || !strings.Contains(results[i].Reason, w.reason) {
			t.Errorf("request %d: %s %q, want %s %q", i+1, results[i].Outcome, results[i].Reason, w.outcome, w.reason)
		}
	}
	if !results[6].At.Equal(at) {
		t.Errorf("the duplicate's time %v, want the first's %v", results[6].At, at)
	}
	var rows []struct {
		Person    string `db:"person_id"`
		Channel   string `db:"channel"`
		UserAgent string `db:"user_agent"`
	}
	if err := db.App.Select(&rows, `SELECT DISTINCT person_id, channel, user_agent FROM acknowledgements ORDER BY person_id`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Person != "eve" || rows[0].Channel != "portal" || rows[1].Person != "sam" || rows[0].UserAgent != "ua\uFFFDwith\uFFFDcontrols" {
		t.Errorf("recorded %+v, want eve (by the portal, the first request) and sam, control characters replaced", rows)
	}
	var audited int
	db.App.Get(&audited, `SELECT count(DISTINCT actor) FROM audit_log`)
	if audited != 2 {
		t.Errorf("%d people audited, want 2", audited)
	}
}

// A batch the database refuses for a reason no check foresaw is written
// again one request at a time: only the request at fault fails.
func TestWriteIsolatesARequestTheDatabaseRefuses(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedCampaignProgram(t, db)
	testenv.SeedAcknowledgementCampaign(t, db, "ack-1", "eve", "sam")
	db.Owner.MustExec(`ALTER TABLE acknowledgements ADD CONSTRAINT test_refuses_sam CHECK (person_id <> 'sam')`)
	at := time.Now().UTC().Truncate(time.Microsecond)
	pending := func(person string) *pendingSignature {
		return &pendingSignature{at: at, reply: make(chan signed, 1),
			req: SignRequest{CampaignID: "ack-1", PersonID: person, Channel: ChannelPortal, ClientAddr: "192.0.2.1", UserAgent: "ua"}}
	}
	eve, sam := pending("eve"), pending("sam")
	(&Recorder{db: db.App}).write([]*pendingSignature{sam, eve})
	if got := <-eve.reply; got.err != nil || got.result.Outcome != Recorded {
		t.Errorf("eve: %+v, want recorded", got)
	}
	if got := <-sam.reply; got.err == nil || !strings.Contains(got.err.Error(), "test_refuses_sam") {
		t.Errorf("sam: %+v, want the database's refusal", got)
	}
	var people []string
	db.App.Select(&people, `SELECT DISTINCT person_id FROM acknowledgements UNION ALL SELECT person_id FROM assignments WHERE status = 'completed'`)
	if len(people) != 2 || people[0] != "eve" || people[1] != "eve" {
		t.Errorf("recorded and completed %v, want eve only", people)
	}
}
