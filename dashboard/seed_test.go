package dashboard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/testenv"
)

// ownerExec runs each statement of sql as the owner, with args for those
// that take parameters.
func ownerExec(t *testing.T, db *testenv.DB, sql string, args ...any) {
	t.Helper()
	for _, stmt := range strings.Split(sql, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		var a []any
		if strings.Contains(stmt, "$") {
			a = args
		}
		if _, err := db.Owner.Exec(stmt, a...); err != nil {
			t.Fatalf("%v\n%s", err, stmt)
		}
	}
}

// seed is a small program with one open item of each kind, at times
// relative to now:
//
//	mia manages ann and bob; bob manages cal; zed is in nobody's team.
//	t-off  offboarding removal task, ann, due now-2d, control c1, escalated once
//	t-vend vendor review task, cal, due now+3d, control c2
//	t-cr   change request task, zed, due now+1d, controls c1 and c2
//	t-apr  annual policy review task, bob, due now-1h
//	t-done a completed task of ann's, never listed
//	ack    acknowledgement campaign (control c2): ann pending (due now+5d,
//	       escalated once), bob completed, cal pending overdue (now-1d), zed left
func seed(t *testing.T, now time.Time) *testenv.DB {
	t.Helper()
	db := testenv.Postgres(t)
	ownerExec(t, db, `
		INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'), ('mia', 'mia@example.com', 'Mia Manager'),
			('zed', 'zed@example.com', 'Zed Elsewhere'), ('dan', 'dan@example.com', 'Dan Leaver'), ('olga', 'olga@example.com', 'Olga Owner');
		INSERT INTO people (id, email, name, manager_id) VALUES ('ann', 'ann@example.com', 'Ann Report', 'mia'),
			('bob', 'bob@example.com', 'Bob Lead', 'mia'), ('cal', 'cal@example.com', 'Cal Indirect', 'bob');
		INSERT INTO controls (id, title) VALUES ('c1', 'Access removal'), ('c2', 'Vendor due diligence');`)
	ownerExec(t, db, `
		INSERT INTO tasks (id, assignee_id, subject, actions, control_ids, parent_ref, due_at) VALUES
			('t-off', 'ann', 'Remove Dan''s access to Git', '{done}', '{c1}', 'offboarding/dan', $1::timestamptz - interval '2 days'),
			('t-vend', 'cal', 'Review the SOC 2 report of Acme', '{approve}', '{c2}', 'vendor-review/acme/2026', $1::timestamptz + interval '3 days'),
			('t-cr', 'zed', 'Review change request', '{approve}', '{c1,c2}', 'change-request/access/abc', $1::timestamptz + interval '1 day'),
			('t-apr', 'bob', 'Review the access policy', '{approve}', '{}', 'annual-policy-review/apr', $1::timestamptz - interval '1 hour');
		INSERT INTO tasks (id, assignee_id, subject, actions, parent_ref, due_at, status, outcome_action, outcome_by, completed_at) VALUES
			('t-done', 'ann', 'Done already', '{done}', 'offboarding/dan', $1::timestamptz - interval '9 days', 'completed', 'done', 'ann', $1);
		INSERT INTO task_events (task_id, event_key, kind) VALUES ('t-off', 'created', 'created'), ('t-off', 'escalated/1', 'escalated'),
			('t-vend', 'reminder/1', 'reminder');`, now)
	ownerExec(t, db, `
		INSERT INTO campaigns (id, kind, title, reason, started_by, control_ids, due_at)
			VALUES ('campaign/acknowledgement/1', 'acknowledgement', 'Annual acknowledgement', 'test', 'sam', '{c2}', $1::timestamptz + interval '5 days');
		INSERT INTO assignments (campaign_id, person_id, due_at, status, escalated) VALUES
			('campaign/acknowledgement/1', 'ann', $1::timestamptz + interval '5 days', 'pending', 1),
			('campaign/acknowledgement/1', 'bob', $1::timestamptz + interval '5 days', 'completed', 0),
			('campaign/acknowledgement/1', 'cal', $1::timestamptz - interval '1 day', 'pending', 0),
			('campaign/acknowledgement/1', 'zed', $1::timestamptz + interval '5 days', 'left', 0);`, now)
	return db
}

// seedOffboarding: dan's open offboarding (last day 10 days ago) planned
// git (high: 1 day), wiki (low: 30 days), crm (medium: 2 days, removed 3
// days late) and chat (medium, removed in time); an old closed run with a
// late removal 200 days ago.
func seedOffboarding(t *testing.T, db *testenv.DB, now time.Time) {
	t.Helper()
	lastDay := now.AddDate(0, 0, -10).Format(time.DateOnly)
	ownerExec(t, db, `
		INSERT INTO offboarding_deadlines (criticality, deadline_after, remind_every, officer_after) VALUES
			('high', '1 day', '4 hours', '1 day'), ('medium', '2 days', '1 day', '1 day'), ('low', '30 days', '1 day', '1 day');
		INSERT INTO systems (id, name, owner_id, removal_method, criticality) VALUES
			('git', 'Git', 'olga', 'manual', 'high'), ('wiki', 'Wiki', 'olga', 'manual', 'low'),
			('crm', 'CRM', 'olga', 'manual', 'medium'), ('chat', 'Chat', 'olga', 'manual', 'medium');
		INSERT INTO offboardings (run_id, workflow_id, person_id, last_day, started_by) VALUES ('run-1', 'offboarding/dan', 'dan', $1, 'mia')`, lastDay)
	ownerExec(t, db, `INSERT INTO offboardings (run_id, workflow_id, person_id, last_day, started_by, status, closed_at)
			VALUES ('run-0', 'offboarding/dan', 'dan', '2020-01-01', 'mia', 'completed', $1::timestamptz - interval '199 days')`, now)
	deadline := func(days int) time.Time {
		return now.AddDate(0, 0, -9).UTC().Truncate(24*time.Hour).AddDate(0, 0, days)
	}
	ownerExec(t, db, `INSERT INTO offboarding_removals (run_id, system_id, method, outcome, removed_by, removed_at, deadline, met) VALUES
		('run-1', 'crm', 'manual', 'removed', 'olga', $1, $2, false),
		('run-1', 'chat', 'manual', 'removed', 'olga', $3, $2, true),
		('run-0', 'crm', 'manual', 'removed', 'olga', $4::timestamptz - interval '200 days', $4::timestamptz - interval '201 days', false)`,
		deadline(5), deadline(2), deadline(1), now)
	for _, run := range []struct {
		id      string
		systems []string
	}{{"run-1", []string{"git", "wiki", "crm", "chat"}}, {"run-0", []string{"crm"}}} {
		if err := audit.Write(context.Background(), db.App, audit.Entry{Actor: "mia", Action: "offboarding.started", Subject: "offboarding/dan",
			Controls: []string{"c1", "c2"}, Detail: map[string]any{"run": run.id, "person": "dan", "systems": run.systems},
			Key: "offboarding/" + run.id + "/started"}); err != nil {
			t.Fatal(err)
		}
	}
}
