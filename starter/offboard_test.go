package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/offboarding"
)

// offboardEnv points the starter at the dev server, on a queue no worker
// polls: an offboarding started stays running, untouched.
func offboardEnv(t *testing.T) (*testenv.DB, client.Client) {
	db := testenv.Postgres(t)
	c := testenv.Temporal(t)
	testenv.TaskQueue(t)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	return db, c
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// starter offboard: someone not up the chain is refused with the reason;
// the manager's start prints the workflow ID as its last line; a second
// start is refused naming the one running (issue 13 item 1).
func TestOffboardStartRefusesNonManagerAndDuplicate(t *testing.T) {
	db, c := offboardEnv(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name, manager_id) VALUES ('ob-boss', 'b@example.com', 'Boss', NULL),
		('ob-mgr', 'm@example.com', 'Mgr', 'ob-boss'), ('ob-leaver', 'l@example.com', 'Leaver', 'ob-mgr'), ('ob-peer', 'p@example.com', 'Peer', 'ob-mgr')`)
	code, _, errOut := starterIn(t, db, "offboard", "--person", "ob-leaver", "--last-day", "2026-12-18", "--as", "ob-peer")
	if code != 2 || !strings.Contains(errOut, "ob-peer may not offboard ob-leaver: only ob-leaver's managers (ob-mgr, ob-boss)") {
		t.Fatalf("peer: code %d, %q", code, errOut)
	}
	code, out, errOut := starterIn(t, db, "offboard", "--person", "ob-leaver", "--last-day", "2026-12-18", "--as", "ob-boss", "--reason", "resigned")
	if code != 0 || lastLine(out) != "offboarding/ob-leaver" {
		t.Fatalf("boss: code %d, out %q, err %q", code, out, errOut)
	}
	desc, err := c.DescribeWorkflowExecution(context.Background(), "offboarding/ob-leaver", "")
	if err != nil {
		t.Fatal(err)
	}
	run := desc.WorkflowExecutionInfo.Execution.RunId
	code, _, errOut = starterIn(t, db, "offboard", "--person", "ob-leaver", "--last-day", "2026-12-19", "--as", "ob-mgr")
	if code != 2 || !strings.Contains(errOut, "offboarding offboarding/ob-leaver is already running (run "+run+")") {
		t.Fatalf("second start: code %d, %q", code, errOut)
	}
}

// starter offboard shares the portal's checks (offboarding.Validate): a
// last day more than 30 days back is refused, and nothing starts.
func TestOffboardRefusesALastDayTooFarBack(t *testing.T) {
	db, c := offboardEnv(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name, manager_id) VALUES ('old-mgr', 'm@example.com', 'Mgr', NULL),
		('old-leaver', 'l@example.com', 'Leaver', 'old-mgr')`)
	old := time.Now().UTC().AddDate(0, 0, -45).Format(time.DateOnly)
	code, _, errOut := starterIn(t, db, "offboard", "--person", "old-leaver", "--last-day", old, "--as", "old-mgr")
	if code != 2 || !strings.Contains(errOut, "last day "+old+" is more than 30 days ago") {
		t.Fatalf("code %d, %q", code, errOut)
	}
	if _, err := c.DescribeWorkflowExecution(context.Background(), "offboarding/old-leaver", ""); err == nil {
		t.Error("an offboarding started")
	}
}

// The HR feed: a people import that newly sets an end date starts that
// person's offboarding for that day, after the import; re-importing the
// same file starts nothing new.
func TestImportPeopleStartsOffboardingOnce(t *testing.T) {
	db, c := offboardEnv(t)
	dir := t.TempDir()
	head := "id,email,name,manager_id,slack_user_id,department,title,start_date,end_date\n"
	write := func(name, rows string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(head+rows), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := write("before.csv", "hr-mgr,hm@example.com,HR Mgr,,,,,,\nhr-leaver,hl@example.com,HR Leaver,hr-mgr,,,,,\n")
	after := write("after.csv", "hr-mgr,hm@example.com,HR Mgr,,,,,,\nhr-leaver,hl@example.com,HR Leaver,hr-mgr,,,,,2026-12-31\n")
	if code, out, errOut := starterIn(t, db, "import", "people", before); code != 0 || strings.Contains(out, "offboarding") {
		t.Fatalf("first import: %d %q %q", code, out, errOut)
	}
	code, out, errOut := starterIn(t, db, "import", "people", after)
	if code != 0 || !strings.Contains(out, "offboarding started: offboarding/hr-leaver (last day 2026-12-31)") {
		t.Fatalf("end date set: %d %q %q", code, out, errOut)
	}
	desc, err := c.DescribeWorkflowExecution(context.Background(), "offboarding/hr-leaver", "")
	if err != nil {
		t.Fatal(err)
	}
	hist := c.GetWorkflowHistory(context.Background(), "offboarding/hr-leaver", "", false, 0)
	first, err := hist.Next()
	if err != nil {
		t.Fatal(err)
	}
	var in offboarding.Input
	payload := first.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0].GetData()
	if err := json.Unmarshal(payload, &in); err != nil || in.StartedBy != offboarding.HRFeed || in.LastDay != "2026-12-31" {
		t.Fatalf("input %+v (%v)", in, err)
	}
	if code, out, errOut := starterIn(t, db, "import", "people", after); code != 0 || strings.Contains(out, "offboarding") || errOut != "" {
		t.Fatalf("re-import: %d %q %q", code, out, errOut)
	}
	again, err := c.DescribeWorkflowExecution(context.Background(), "offboarding/hr-leaver", "")
	if err != nil || again.WorkflowExecutionInfo.Execution.RunId != desc.WorkflowExecutionInfo.Execution.RunId {
		t.Fatalf("re-import changed the run: %v", err)
	}
}

// records offboarding --json lists every system with who removed it, when,
// how, the deadline and whether it was met; a system not yet removed
// shows as pending while the offboarding is open.
func TestRecordsOffboardingJSON(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('o', 'o@example.com', 'Owner'), ('l', 'l@example.com', 'Leaver');
		INSERT INTO systems (id, name, owner_id, removal_method, webhook_url) VALUES ('sys-a', 'A', 'o', 'manual', ''), ('sys-b', 'B', 'o', 'webhook', 'https://b.example/h');
		INSERT INTO offboardings (run_id, workflow_id, person_id, last_day, started_by) VALUES ('r1', 'offboarding/l', 'l', '2026-12-18', 'o');
		INSERT INTO offboarding_removals (run_id, system_id, method, outcome, removed_by, removed_at, deadline, met)
			VALUES ('r1', 'sys-a', 'manual', 'removed', 'o', '2026-12-19 06:00Z', '2026-12-19 04:00Z', false);
		INSERT INTO systems (id, name, owner_id, removal_method, criticality) VALUES ('sys-c', 'C', 'o', 'manual', 'critical');
		INSERT INTO offboarding_deadlines VALUES ('critical', '4 hours', '1 hour', '2 hours'), ('medium', '1 day', '8 hours', '1 day');
		INSERT INTO offboardings (run_id, workflow_id, person_id, last_day, started_by) VALUES ('r2', 'offboarding/o', 'o', '2020-01-10', 'l')`)
	code, out, errOut := starterIn(t, db, "records", "offboarding", "--person", "l", "--json")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	var rows []offboardingRecord
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("%v: %s", err, out)
	}
	a, b := rows[0], rows[1]
	if a.System != "sys-a" || a.RemovedBy != "o" || a.Outcome != "removed" || a.Met == nil || *a.Met || a.RemovedAt == nil {
		t.Errorf("sys-a %+v", a)
	}
	if b.System != "sys-b" || b.Outcome != "pending" || b.Method != "webhook" || b.Deadline == nil ||
		!b.Deadline.Equal(time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("sys-b %+v: pending, due 1d after the end of the last day", b)
	}
	// The officer's view: only what is late, removed late or still pending
	// past its deadline (o's offboarding of 2020 is overdue everywhere).
	code, out, _ = starterIn(t, db, "records", "offboarding", "--late", "--json")
	var late []offboardingRecord
	json.Unmarshal([]byte(out), &late)
	var got []string
	for _, r := range late {
		got = append(got, r.Person+"/"+r.System+"/"+map[bool]string{true: "overdue", false: "late"}[r.Overdue])
	}
	if want := "l/sys-a/late,o/sys-a/overdue,o/sys-b/overdue,o/sys-c/overdue"; code != 0 || strings.Join(got, ",") != want {
		t.Errorf("--late: %v, want %s", got, want)
	}
	if code, out, _ := starterIn(t, db, "records", "offboarding"); code != 0 || !strings.Contains(out, "LATE") {
		t.Errorf("table: %d %q; a late removal shows LATE", code, out)
	}
}
