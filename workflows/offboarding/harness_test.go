package offboarding

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// harness runs offboardings with time skipping against a real Postgres and
// SMTP sink, with the real HumanTask (reminders, escalation resolved from
// the directory) answered through its complete Update as the portal does.
type harness struct {
	testsuite.WorkflowTestSuite
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	db      *testenv.DB
	signer  *links.Signer
	acts    *act.Activities
	started map[string]int // activity starts, by name
}

// lastDay is the leaver's last day in every test; runs start at 09:00 UTC on it.
const lastDay = "2026-12-18"

var (
	start       = time.Date(2026, 12, 18, 9, 0, 0, 0, time.UTC)
	endOfDay    = time.Date(2026, 12, 19, 0, 0, 0, 0, time.UTC)
	connectorKY = []byte("connector-test-signing-key-0123")
)

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, db: testenv.Postgres(t), started: map[string]int{}}
	seed(t, h.db)
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	var err error
	if h.signer, err = links.NewSigner([]links.Key{{Secret: []byte("offboarding-test-link-key-0123")}}); err != nil {
		t.Fatal(err)
	}
	mailer := &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}
	h.acts = &act.Activities{DB: h.db.App, ConnectorKey: connectorKY, Links: h.signer, BaseURL: "https://comply.example.com",
		LinkTTL: 30 * 24 * time.Hour, Getenv: func(name string) string {
			if name == "SCIM_TOKEN_TEST" {
				return "scim-secret"
			}
			return ""
		}}
	h.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))))
	h.env = h.NewTestWorkflowEnvironment()
	h.env.SetStartTime(start)
	h.env.SetTestTimeout(time.Minute)
	h.env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	h.env.RegisterWorkflowWithOptions(humantask.Workflow, workflow.RegisterOptions{Name: humantask.WorkflowName})
	h.env.RegisterActivity(h.acts)
	h.env.RegisterActivity(&campaignact.Activities{DB: h.db.App})
	h.env.RegisterActivity(&taskact.Tasks{DB: h.db.App})
	h.env.RegisterActivity(&taskact.Notifier{DB: h.db.App, Mailer: mailer, Links: h.signer, BaseURL: "https://comply.example.com", LinkTTL: 30 * 24 * time.Hour})
	h.env.RegisterActivity(&notify.Messages{DB: h.db.App, Mailer: mailer})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		h.started[info.ActivityType.Name]++
	})
	return h
}

// seed: lee leaves; mo is lee's manager and ceo mo's; olga owns the systems
// and omar is her manager; sam is the security officer; eve is nobody's
// manager. Deadlines as the demo program: critical 4h after the end of the
// last day, the others 1d.
func seed(t *testing.T, db *testenv.DB) {
	t.Helper()
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name, manager_id) VALUES
			('ceo', 'ceo@example.com', 'Cy CEO', NULL), ('mo', 'mo@example.com', 'Mo Manager', 'ceo'),
			('lee', 'lee@example.com', 'Lee Leaver', 'mo'), ('omar', 'omar@example.com', 'Omar Owner-Manager', 'ceo'),
			('olga', 'olga@example.com', 'Olga Owner', 'omar'), ('sam', 'sam@example.com', 'Sam Officer', 'ceo'),
			('eve', 'eve@example.com', 'Eve Employee', 'mo');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam');
		INSERT INTO controls (id, title, processes) VALUES ('removal-of-access', 'Removal of Access', '{offboarding}');
		INSERT INTO offboarding_deadlines (criticality, deadline_after, remind_every, officer_after) VALUES
			('critical', '4 hours', '1 hour', '2 hours'), ('high', '1 day', '4 hours', '1 day'),
			('medium', '1 day', '8 hours', '1 day'), ('low', '1 day', '8 hours', '2 days');
	`)
}

// system adds one system to the inventory.
func (h *harness) system(id, method, criticality, url string) {
	webhook, scim, tokenEnv := "", "", ""
	switch method {
	case "webhook":
		webhook = url
	case "scim":
		scim, tokenEnv = url, "SCIM_TOKEN_TEST"
	}
	h.db.Owner.MustExec(`INSERT INTO systems (id, name, owner_id, removal_method, webhook_url, criticality, scim_base_url, scim_token_env)
		VALUES ($1, $1, 'olga', $2, $3, $4, $5, $6)`, id, method, webhook, criticality, scim, tokenEnv)
}

// answer has person complete the system's removal task at at.
func (h *harness) answer(at time.Time, systemID, person string, action humantask.Action, note string, got *[]string) {
	taskID := removalTask(systemID)
	h.env.RegisterDelayedCallback(func() {
		err := h.env.UpdateWorkflowByID(taskID, humantask.UpdateComplete, fmt.Sprint("u-", person, at.Unix()), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { *got = append(*got, person+" refused: "+err.Error()) },
			OnComplete: func(_ any, err error) {
				if err == nil {
					*got = append(*got, person+" completed")
				}
			},
		}, humantask.CompleteRequest{Action: action, PersonID: person, Note: note})
		if err != nil {
			h.t.Errorf("update %s by %s: %v", taskID, person, err)
		}
	}, at.Sub(start))
}

// removalTask is the ID of lee's removal task for the system.
func removalTask(systemID string) string {
	return humantask.ID(ID("lee"), taskPurpose("default-test-run-id", systemID))
}

// run offboards lee, started by by, and answers the result.
func (h *harness) run(by string) (Status, error) {
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: ID("lee")})
	h.env.ExecuteWorkflow(WorkflowName, Input{PersonID: "lee", LastDay: lastDay, StartedBy: by, Reason: "resigned"})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("the offboarding did not complete")
	}
	var st Status
	err := h.env.GetWorkflowError()
	if err == nil {
		err = h.env.GetWorkflowResult(&st)
	}
	return st, err
}

// removal is one evidence row as offboarding_removals holds it.
type removal struct {
	System   string    `db:"system_id"`
	Method   string    `db:"method"`
	Outcome  string    `db:"outcome"`
	By       string    `db:"removed_by"`
	At       time.Time `db:"removed_at"`
	Deadline time.Time `db:"deadline"`
	Met      bool      `db:"met"`
	Code     *int      `db:"connector_status"`
	BodySHA  string    `db:"connector_body_sha256"`
	Fallback string    `db:"fallback_reason"`
	Note     string    `db:"note"`
}

func (h *harness) removals() map[string]removal {
	h.t.Helper()
	var rows []removal
	if err := h.db.Owner.Select(&rows, `SELECT system_id, method, outcome, removed_by, removed_at, deadline, met, connector_status,
		connector_body_sha256, fallback_reason, note FROM offboarding_removals ORDER BY system_id`); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]removal{}
	for _, r := range rows {
		out[r.System] = r
	}
	return out
}

func (h *harness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.db.Owner.Get(&n, query, args...); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
	return n
}
