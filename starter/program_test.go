package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
)

func starterCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runMain(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestProgramCheckReportsEveryProblem is the acceptance case.
func TestProgramCheckReportsEveryProblem(t *testing.T) {
	demo, err := os.ReadFile("../demo/program.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.NewReplacer(
		`schedule: {month: january, day: 15, time: "09:00", time_zone: America/New_York}`,
		`schedule: {cron: "0 9 15 1 mon-fry", time_zone: America/New_Yrok}`,
		"coo: [p-coo]", "coo: [p-cooo]",
	).Replace(string(demo))
	file := besideDemoTexts(t, bad)

	code, out, errOut := starterCmd(t, "program", "check", "--people", "../demo/people.csv", file)
	if code != 2 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	located := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(file) + `:\d+: \S+: .+$`)
	lines := located.FindAllString(errOut, -1)
	if len(lines) != 3 ||
		!strings.Contains(lines[0], `roles.coo[0]: unknown person "p-cooo"`) ||
		!strings.Contains(lines[1], `schedule.time_zone: unknown time zone "America/New_Yrok"`) ||
		!strings.Contains(lines[2], `schedule.cron: "0 9 15 1 mon-fry"`) {
		t.Fatalf("stderr:\n%s", errOut)
	}
	if !strings.Contains(errOut, "3 problem(s), nothing applied") {
		t.Errorf("stderr lacks the summary:\n%s", errOut)
	}
}

func TestProgramCheckDemoPrintsNextRuns(t *testing.T) {
	code, out, errOut := starterCmd(t, "program", "check", "--people", "../demo/people.csv", "../demo/program.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	next := regexp.MustCompile(`(?m)^  next \w{3} (\d{4})-01-15 09:00 EST$`).FindAllStringSubmatch(out, -1)
	if len(next) != 3 {
		t.Fatalf("want three next runs of the annual review:\n%s", out)
	}
	year := time.Now().In(mustLoad(t, "America/New_York")).Year()
	if first := next[0][1]; first != strconv.Itoa(year) && first != strconv.Itoa(year+1) {
		t.Errorf("first run in %s, want %d or %d", first, year, year+1)
	}
}

// besideDemoTexts writes a variant of the demo program where the demo's
// policy texts are found (policies/ beside it), so only the changes made to it
// can fail its check.
func besideDemoTexts(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	for _, texts := range []string{"policies", "trainings"} {
		abs, err := filepath.Abs("../demo/" + texts)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, texts)); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "program.yaml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func mustLoad(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestProgramApply runs the CLI against a real database and dev server:
// apply, apply again (no changes), remove the obligation (exactly its
// schedule goes), with `temporal schedule list` agreeing along the way.
func TestProgramApply(t *testing.T) {
	db := testenv.Postgres(t)
	addr := testenv.TemporalAddress(t)
	t.Setenv("TEMPORAL_ADDRESS", addr)
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	if code, _, errOut := starterIn(t, db, "import", "people", "../demo/people.csv"); code != 0 {
		t.Fatalf("import people: %s", errOut)
	}

	code, out, errOut := starterIn(t, db, "program", "apply", "--dry-run", "../demo/program.yaml")
	if code != 0 || !strings.Contains(out, "create complyflow/annual-policy-review (0 9 15 1 *, America/New_York)") ||
		!strings.Contains(out, "dry run: nothing applied") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = starterIn(t, db, "program", "apply", "--as", "p-security-officer", "../demo/program.yaml")
	if code != 0 || !strings.Contains(out, "applied as version 1 by "+onBehalfOf("p-security-officer")+": 7 created, 0 updated, 0 deleted") {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = starterIn(t, db, "program", "apply", "../demo/program.yaml")
	if code != 0 || !strings.Contains(out, "no changes: this program is in force as version 1") {
		t.Fatalf("second apply: exit %d\n%s%s", code, out, errOut)
	}
	// The demo risk register names the demo program's controls and people.
	if code, out, errOut := starterIn(t, db, "import", "risks", "../demo/risks.csv"); code != 0 || !strings.Contains(out, "risks: 20 inserted, 0 updated") {
		t.Fatalf("import the demo risks: exit %d\n%s%s", code, out, errOut)
	}
	var versions, controls, audits int
	db.App.Get(&versions, `SELECT count(*) FROM program_versions`)
	db.App.Get(&controls, `SELECT count(DISTINCT control_id) FROM control_requirements WHERE framework = 'hipaa'`)
	db.App.Get(&audits, `SELECT count(*) FROM audit_log WHERE action = 'program.apply' AND actor = $1`, onBehalfOf("p-security-officer"))
	if versions != 1 || controls == 0 || audits != 1 {
		t.Errorf("versions %d, controls mapped to HIPAA %d, audit entries %d", versions, controls, audits)
	}

	waitForList(t, db, addr, []string{"complyflow/acknowledge-policies", "complyflow/annual-policy-review",
		"complyflow/annual-risk-assessment", "complyflow/backup-restore-test", "complyflow/dr-test", "complyflow/security-awareness-training", "complyflow/vendor-review"})

	code, out, errOut = starterIn(t, db, "schedules", "pause", "complyflow/annual-policy-review", "--note", "auditor walkthrough", "--as", "p-coo")
	if code != 0 || !strings.Contains(out, "paused") {
		t.Fatalf("pause: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = starterIn(t, db, "schedules", "list")
	t.Logf("schedules list:\n%s", out)
	if code != 0 || !regexp.MustCompile(`complyflow/annual-policy-review\s+0 9 15 1 \* \(America/New_York\)\s+AnnualPolicyReview\s+yes: auditor walkthrough\s+never\s+\d{4}-01-15 09:00 EST`).MatchString(out) {
		t.Fatalf("schedules list:\n%s", out)
	}
	// No worker polls here, so the triggered review stays Running.
	if code, out, errOut := starterIn(t, db, "schedules", "trigger", "complyflow/annual-policy-review"); code != 0 || !strings.Contains(out, "triggered") {
		t.Fatalf("trigger: exit %d\n%s%s", code, out, errOut)
	}
	lastRun := regexp.MustCompile(`auditor walkthrough\s+\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T annual-policy-review/annual-policy-review-\S+ Running`)
	for deadline := time.Now().Add(10 * time.Second); !lastRun.MatchString(out); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("schedules list after trigger:\n%s", out)
		}
		_, out, _ = starterIn(t, db, "schedules", "list")
	}
	var acts []string
	db.App.Select(&acts, `SELECT action || ' ' || actor || ' ' || subject FROM audit_log WHERE action LIKE 'schedule.%' ORDER BY id`)
	if want := []string{"schedule.pause " + onBehalfOf("p-coo") + " complyflow/annual-policy-review", "schedule.trigger cli:"}; len(acts) != 2 || acts[0] != want[0] || !strings.HasPrefix(acts[1], want[1]) {
		t.Errorf("audit entries = %q", acts)
	}
	if code, _, errOut := starterIn(t, db, "schedules", "pause", "complyflow/annual-policy-review"); code != 2 || !strings.Contains(errOut, "--note") {
		t.Errorf("pause without a note: exit %d, %s", code, errOut)
	}

	demo, _ := os.ReadFile("../demo/program.yaml")
	text := string(demo)
	withoutReview := text[:strings.Index(text, "  - id: annual-policy-review")] + "  []\n"
	file := besideDemoTexts(t, strings.Replace(withoutReview, "obligations:\n  []", "obligations: []", 1))
	code, out, errOut = starterIn(t, db, "program", "apply", file)
	t.Logf("apply without the obligation:\n%s", out)
	if code != 0 || !strings.Contains(out, "  delete complyflow/annual-policy-review\n") ||
		!strings.Contains(out, "  delete complyflow/vendor-review\n") || !strings.Contains(out, "  delete complyflow/acknowledge-policies\n") ||
		!strings.Contains(out, "0 created, 0 updated, 7 deleted") {
		t.Fatalf("apply without the obligation: exit %d\n%s%s", code, out, errOut)
	}
	waitForList(t, db, addr, nil)
}

// waitForList waits until both `starter schedules list` and the real
// `temporal schedule list` show exactly ids (the list is eventually
// consistent).
func waitForList(t *testing.T, db *testenv.DB, addr string, ids []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, out, _ := starterIn(t, db, "schedules", "list")
		ours := regexp.MustCompile(`(?m)^(complyflow/\S+)`).FindAllString(out, -1)
		cli, err := exec.Command("../bin/temporal", "schedule", "list", "--address", addr, "--namespace", "default", "-o", "json").Output()
		if err != nil {
			t.Fatalf("temporal schedule list: %v", err)
		}
		var entries []struct {
			ScheduleID string `json:"scheduleId"`
		}
		if err := json.Unmarshal(cli, &entries); err != nil {
			t.Fatalf("temporal schedule list output %q: %v", cli, err)
		}
		var theirs []string
		for _, e := range entries {
			theirs = append(theirs, e.ScheduleID)
		}
		sort.Strings(theirs)
		if reflect.DeepEqual(ours, ids) && reflect.DeepEqual(theirs, ids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedules: starter lists %q, temporal lists %q, want %q", ours, theirs, ids)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
