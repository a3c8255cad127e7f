package main

import (
	"context"
	"encoding/csv"
	"regexp"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/internal/testenv"
)

// `records acknowledgements` and `records trainings` print each signature's
// proof (person, email, policy, version, text hash, channel, time, client,
// user agent, seal) and whether the seal verifies; an edited record shows NO
// and exits non-zero; bad filters are one-line usage errors (issue 11 item 10).
func TestRecordsSignatures(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedCampaignProgram(t, db)
	testenv.SeedAcknowledgementCampaign(t, db, "ack-1", "eve", "sam")
	testenv.SeedTrainingCampaign(t, db, "tr-1", "eve")
	r := campaign.NewRecorder(db.App)
	var sha string
	db.App.Get(&sha, `SELECT content_sha256 FROM trainings WHERE id = 'awareness'`)
	for _, req := range []campaign.SignRequest{
		{CampaignID: "ack-1", PersonID: "eve", Channel: "portal", ClientAddr: "192.0.2.7", UserAgent: "Mozilla/5.0 (X11)"},
		{CampaignID: "ack-1", PersonID: "sam", Channel: "slack", ClientAddr: "192.0.2.8", UserAgent: "Slack"},
		{CampaignID: "tr-1", PersonID: "eve", Channel: "slack", ClientAddr: "192.0.2.9", UserAgent: "ua", ContentSHA256: sha, Answers: [][]int{{1}, {0}, {0}}},
	} {
		if res, err := r.Sign(context.Background(), req); err != nil || res.Outcome != campaign.Recorded {
			t.Fatalf("sign %+v: %+v, %v", req, res, err)
		}
	}
	r.Close()
	acks, _ := campaign.ListAcknowledgements(context.Background(), db.App, campaign.AcknowledgementFilter{PersonID: "eve", PolicyID: "conduct"})
	if len(acks) != 1 {
		t.Fatalf("eve's conduct acknowledgements: %+v", acks)
	}
	eve := acks[0]

	code, out, errOut := starterIn(t, db, "records", "acknowledgements", "--campaign", "ack-1")
	var fields []string
	for _, f := range []string{"ack-1", "eve", "eve@example.com", "conduct", "2025.1", eve.TextSHA256, "portal",
		eve.At.UTC().Format("2006-01-02T15:04:05.000000Z"), "192.0.2.7", "Mozilla/5.0 (X11)", eve.Seal, "yes"} {
		fields = append(fields, regexp.QuoteMeta(f))
	}
	row := regexp.MustCompile(`(?m)^` + strings.Join(fields, ` +`) + `$`)
	if code != 0 || !strings.Contains(out, "TEXT SHA-256") || !row.MatchString(out) {
		t.Errorf("records acknowledgements --campaign lacks eve's conduct row with every field: exit %d\n%s%s", code, out, errOut)
	}
	if n := strings.Count(out, "\n"); n != 5 {
		t.Errorf("--campaign: %d lines, want a header and 4 acknowledgements\n%s", n, out)
	}

	code, out, errOut = starterIn(t, db, "records", "acknowledgements", "--policy", "conduct", "--version", "2025.1", "--csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 3 || rows[0][10] != "seal" || rows[1][1] != "eve" || rows[2][1] != "sam" || rows[2][6] != "slack" || rows[1][10] != eve.Seal {
		t.Errorf("--policy --version --csv: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if code, out, _ := starterIn(t, db, "records", "acknowledgements", "--policy", "conduct", "--version", "2024.1"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("another version: exit %d\n%s", code, out)
	}

	code, out, errOut = starterIn(t, db, "records", "trainings", "--training", "awareness", "--csv")
	rows, err = csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 2 || strings.Join(rows[1][:8], ",") != "tr-1,eve,eve@example.com,awareness,"+sha+",2,3,slack" || rows[1][12] != "yes" {
		t.Errorf("records trainings: exit %d, %v\n%s%s", code, err, out, errOut)
	}

	// Someone with the owner's rights edits a record: its seal no longer verifies.
	db.Owner.MustExec(`UPDATE acknowledgements SET version = '2026.1' WHERE person_id = 'sam' AND policy_id = 'aup'`)
	code, out, errOut = starterIn(t, db, "records", "acknowledgements", "--person", "sam")
	if code != 1 || !strings.Contains(out, "2026.1") || !strings.Contains(out, "  NO\n") ||
		!strings.Contains(errOut, "1 of 2 seals do not verify") {
		t.Errorf("edited record: exit %d\n%s%s", code, out, errOut)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"acknowledgements"}, "give exactly one filter"},
		{[]string{"acknowledgements", "--person", "eve", "--campaign", "ack-1"}, "give exactly one filter"},
		{[]string{"acknowledgements", "--campaign", "ack-1", "--version", "2025.1"}, "--version needs --policy"},
		{[]string{"acknowledgements", "--person", "nobody"}, `person "nobody" is not in the program`},
		{[]string{"acknowledgements", "--policy", "nonesuch"}, `policy "nonesuch" is not in the program`},
		{[]string{"trainings", "--training", "nonesuch"}, `training "nonesuch" is not in the program`},
		{[]string{"trainings", "--campaign", "ack-1", "extra"}, "unexpected arguments"},
	} {
		code, _, errOut := starterIn(t, db, append([]string{"records"}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("records %v: exit %d, %q; want 2 and one line with %q", c.args, code, errOut, c.want)
		}
	}
}
