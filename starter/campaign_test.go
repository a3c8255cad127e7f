package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
)

// seedCampaignWorld is seedPolicies plus two engineers, a training, and
// the program's acknowledgement obligation (remind every 3 days, new hires
// within 14 days).
func seedCampaignWorld(t *testing.T, db *testenv.DB) {
	seedPolicies(t, db)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name, department) VALUES
			('ann', 'ann@example.com', 'Ann Engineer', 'Engineering'), ('bob', 'bob@example.com', 'Bob Engineer', 'Engineering');
		INSERT INTO trainings (id, title, source, content, content_sha256, quiz, pass_mark)
			VALUES ('awareness', 'Security Awareness', 'awareness.md', 'Lock your screen.', 'abc', '[]', 0);
		INSERT INTO obligations (id, process, due, remind_every, escalation, control_ids, new_hire_within) VALUES
			('acknowledge-policies', 'policy-acknowledgement', '30 days', '3 days', '[{"After": 86400000000000, "To": "@manager"}]',
			 '{personnel-acknowledge-policies}', '14 days');
	`)
}

func TestCampaignCommandStartsAndCounts(t *testing.T) {
	db := testenv.Postgres(t)
	seedCampaignWorld(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	policyWorker(t, db, approveAll)

	code, out, errOut := starterIn(t, db, "campaign", "start", "--kind", "acknowledgement", "--policies", "all", "--department", "Engineering", "--wait")
	if code != 0 {
		t.Fatalf("campaign start: exit %d, %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id := lines[len(lines)-1]
	if !strings.HasPrefix(id, "campaign/acknowledgement/") {
		t.Fatalf("the last line %q is not the campaign ID", id)
	}
	if !strings.Contains(errOut, "notified 2 of 2") {
		t.Errorf("--wait off a terminal printed %q, want the progress as lines", errOut)
	}
	code, out, errOut = starterIn(t, db, "campaign", "status", id, "--json")
	if code != 0 {
		t.Fatalf("campaign status: exit %d, %s", code, errOut)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json %q: %v", out, err)
	}
	for field, want := range map[string]float64{"assigned": 2, "notified": 2, "completed": 0, "pending": 2, "overdue": 0, "escalated": 0, "left": 0} {
		if got, ok := st[field].(float64); !ok || got != want {
			t.Errorf("status %s = %v, want %v (%s)", field, st[field], want, out)
		}
	}
	var controls string
	db.Owner.Get(&controls, `SELECT array_to_string(control_ids, ',') FROM campaigns WHERE id = $1`, id)
	if controls != "personnel-acknowledge-policies" {
		t.Errorf("the campaign evidences %q, want the obligation's control", controls)
	}
	if code, out, _ := starterIn(t, db, "campaign", "list"); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "0/2") {
		t.Errorf("campaign list: exit %d\n%s", code, out)
	}
}

// Bad input is one line naming what was wrong, exit 2, and nothing started.
func TestCampaignCommandRefusesBadInput(t *testing.T) {
	db := testenv.Postgres(t)
	seedCampaignWorld(t, db)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "acknowledgement", "--policies", "access,nope"}, `unknown policy "nope"`},
		{[]string{"--kind", "training", "--training", "nope"}, `unknown training "nope"`},
		{[]string{"--kind", "acknowledgement", "--policies", "all", "--department", "Nowhere"}, `unknown department "Nowhere"`},
		{[]string{"--kind", "acknowledgement", "--policies", "all", "--due", "2d"}, "shorter than the first reminder"},
		{[]string{"--kind", "survey"}, `"survey" is not acknowledgement or training`},
		{[]string{"--kind", "acknowledgement", "--policies", "all", "--due", "soon"}, `--due: "soon"`},
	} {
		code, _, errOut := starterIn(t, db, append([]string{"campaign", "start"}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, %q; want exit 2 and one line with %q", c.args, code, errOut, c.want)
		}
	}
	// Everyone in the audience has left: empty.
	db.Owner.MustExec(`UPDATE people SET end_date = '2020-01-01'`)
	if code, _, errOut := starterIn(t, db, "campaign", "start", "--kind", "acknowledgement", "--policies", "all"); code != 2 || !strings.Contains(errOut, "the audience is empty") {
		t.Errorf("empty audience: exit %d, %q", code, errOut)
	}
	var n int
	db.Owner.Get(&n, `SELECT count(*) FROM campaigns`)
	if n != 0 {
		t.Errorf("%d campaigns recorded after refusals", n)
	}
}

// A person who appears in an import with a start date is enrolled in their
// cohort's campaign; importing the same file again enrols nobody.
func TestImportEnrolsNewHiresOnce(t *testing.T) {
	db := testenv.Postgres(t)
	seedCampaignWorld(t, db)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	policyWorker(t, db, approveAll)
	start := time.Now().UTC().AddDate(0, 0, 2).Format("2006-01-02")
	csv := filepath.Join(t.TempDir(), "people.csv")
	os.WriteFile(csv, []byte("id,email,name,manager_id,slack_user_id,department,title,start_date,end_date\n"+
		"sam,sam@example.com,Sam Officer,,,,,,\n"+
		"nia,nia@example.com,Nia New,sam,,Engineering,Engineer,"+start+",\n"), 0o644)
	code, out, errOut := starterIn(t, db, "import", "people", csv)
	want := "new hires starting " + start + ": nia enrolled in campaign/new-hires/acknowledge-policies/" + start
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("import: exit %d, out %q, err %q; want %q", code, out, errOut, want)
	}
	id := "campaign/new-hires/acknowledge-policies/" + start
	deadline := time.Now().Add(20 * time.Second)
	var due time.Time
	for db.Owner.Get(&due, `SELECT due_at FROM assignments WHERE campaign_id = $1 AND person_id = 'nia'`, id) != nil {
		if time.Now().After(deadline) {
			t.Fatal("Nia was not assigned")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := due.UTC().Format("2006-01-02"); got != time.Now().UTC().AddDate(0, 0, 16).Format("2006-01-02") {
		t.Errorf("Nia is due %s, want 14 days after her start date %s", got, start)
	}
	code, out, _ = starterIn(t, db, "import", "people", csv)
	if code != 0 || strings.Contains(out, "enrolled") {
		t.Errorf("the same file again: exit %d, %q; want nobody enrolled", code, out)
	}
}
