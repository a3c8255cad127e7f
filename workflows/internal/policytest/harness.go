// Package policytest runs the policy workflows under Temporal's test suite,
// with time skipping, against a real Postgres and a real SMTP server, their
// human tasks answered from a script. The policy processes' tests share it.
package policytest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"

	changeact "github.com/complyflow/complyflow/activities/policychange"
	exceptionact "github.com/complyflow/complyflow/activities/policyexception"
	reviewact "github.com/complyflow/complyflow/activities/policyreview"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/campaign"
	"github.com/complyflow/complyflow/workflows/humantask"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// Answer is what a scripted person does with a task, after a while.
type Answer struct {
	After  time.Duration
	By     string
	Action humantask.Action
	Note   string
	// Values fill the task's form, when it has one.
	Values humantask.Values
	// also runs as the task completes, e.g. to race an update against it
	Also func()
}

// Harness runs the policy workflows with time skipping against a real
// Postgres and a real SMTP server, with human tasks answered from a script.
type Harness struct {
	testsuite.WorkflowTestSuite
	T          *testing.T
	Env        *testsuite.TestWorkflowEnvironment
	DB         *testenv.DB
	Sink       *devmail.Sink
	Script     map[string]Answer // by task ID
	Tasks      []humantask.Input // every task started, in order
	Started    map[string]time.Time
	Activities []ActivityCall
	// Register puts the workflows under test on each new environment.
	Register func(env *testsuite.TestWorkflowEnvironment)
	Slack    *notify.Slack // the announcement channel's Slack, nil: not configured
	Mailer   *notify.Mailer
	// Campaigns are the campaigns started (a material change's
	// re-acknowledgement), by workflow ID, each with its input.
	Campaigns map[string]campaign.Input
}

func New(t *testing.T, start time.Time, register func(env *testsuite.TestWorkflowEnvironment)) *Harness {
	h := &Harness{T: t, DB: testenv.Postgres(t), Sink: &devmail.Sink{}, Script: map[string]Answer{}, Started: map[string]time.Time{}, Register: register,
		Campaigns: map[string]campaign.Input{}}
	SeedWorld(t, h.DB)
	if err := h.Sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	h.Mailer = &notify.Mailer{Addr: h.Sink.Addr(), From: "complyflow@example.com"}
	t.Cleanup(func() { h.Sink.Close() })
	h.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	h.NewEnv(start)
	return h
}

// newEnv starts a fresh test environment on the same database and mailbox,
// e.g. for the run a continue-as-new starts.
func (h *Harness) NewEnv(start time.Time) {
	h.Env = h.NewTestWorkflowEnvironment()
	h.Env.SetStartTime(start)
	h.Env.RegisterWorkflowWithOptions(h.FakeHumanTask, workflow.RegisterOptions{Name: humantask.WorkflowName})
	h.Env.RegisterWorkflowWithOptions(h.FakeCampaign, workflow.RegisterOptions{Name: campaign.WorkflowName})
	h.Env.RegisterActivity(&campaignact.Activities{DB: h.DB.App})
	h.Register(h.Env)
	h.Env.RegisterActivity(&changeact.Activities{DB: h.DB.App})
	h.Env.RegisterActivity(&exceptionact.Activities{DB: h.DB.App})
	h.Env.RegisterActivity(&reviewact.Activities{DB: h.DB.App})
	h.Env.RegisterActivity(&notify.Messages{DB: h.DB.App, Mailer: h.Mailer})
	h.Env.RegisterActivity(&changeact.Announcer{DB: h.DB.App, Pool: notify.NewPool(h.Mailer, 2), Slack: h.Slack, Channel: "#security-policies"})
	h.Env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		h.Activities = append(h.Activities, ActivityCall{Name: info.ActivityType.Name, At: h.Env.Now()})
	})
}

// ActivityCall is one activity started, and when.
type ActivityCall struct {
	Name string
	At   time.Time
}

// calls lists when each call of the named activity started.
func (h *Harness) Calls(name string) []time.Time {
	var at []time.Time
	for _, c := range h.Activities {
		if c.Name == name {
			at = append(at, c.At)
		}
	}
	return at
}

// SeedWorld is the program as `starter program apply` leaves it, with
// both policies registered in 2023, so at version 2023.1.
func SeedWorld(t *testing.T, db *testenv.DB) {
	t.Helper()
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES
			('sam', 'sam@example.com', 'Sam Officer'), ('pat', 'pat@example.com', 'Pat Privacy'),
			('cleo', 'cleo@example.com', 'Cleo CEO'), ('dee', 'dee@example.com', 'Dee Designee'),
			('coby', 'coby@example.com', 'Coby COO'), ('eve', 'eve@example.com', 'Eve Employee');
		INSERT INTO people (id, email, name, end_date) VALUES ('lee', 'lee@example.com', 'Lee Left', '2020-01-01');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam'), ('privacy_officer', 'pat'),
			('ceo', 'cleo'), ('ceo_designee', 'dee'), ('coo', 'coby'), ('review_committee', 'pat'), ('review_committee', 'eve');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES
			('access', 'Access Control Policy', 'sam', 'policies/access.md', '2023-01-10'),
			('privacy', 'Privacy Policy', 'pat', 'policies/privacy.md', '2023-01-10');
		INSERT INTO controls (id, title, processes) VALUES ('personnel-accountability', 'Personnel Accountability',
			'{policy-change-request,policy-exception,annual-policy-review}');
	`)
}

func (h *Harness) On(taskID string, a Answer) { h.Script[taskID] = a }

func (h *Harness) FakeHumanTask(ctx workflow.Context, in humantask.Input) (humantask.Outcome, error) {
	h.Tasks = append(h.Tasks, in)
	h.Started[in.TaskID] = workflow.Now(ctx)
	a, ok := h.Script[in.TaskID]
	if !ok {
		return humantask.Outcome{}, temporal.NewNonRetryableApplicationError("no scripted answer for "+in.TaskID, "Unscripted", nil)
	}
	if err := workflow.Sleep(ctx, a.After); err != nil {
		return humantask.Outcome{}, err
	}
	if a.Also != nil {
		a.Also()
	}
	return humantask.Outcome{TaskID: in.TaskID, Action: a.Action, By: a.By, Note: a.Note, Values: a.Values, At: workflow.Now(ctx)}, nil
}

// FakeCampaign stands in for the Campaign workflow (its own tests run it):
// it records what it was started with and ends.
func (h *Harness) FakeCampaign(ctx workflow.Context, in campaign.Input) (campaign.Status, error) {
	h.Campaigns[workflow.GetInfo(ctx).WorkflowExecution.ID] = in
	return campaign.Status{}, nil
}

func (h *Harness) Task(id string) humantask.Input {
	for _, t := range h.Tasks {
		if t.TaskID == id {
			return t
		}
	}
	h.T.Fatalf("no task %s was started; tasks: %v", id, h.TaskIDs())
	return humantask.Input{}
}

func (h *Harness) TaskIDs() []string {
	ids := make([]string, len(h.Tasks))
	for i, t := range h.Tasks {
		ids[i] = t.TaskID
	}
	return ids
}

func (h *Harness) Count(query string, args ...any) int {
	h.T.Helper()
	var n int
	if err := h.DB.Owner.Get(&n, query, args...); err != nil {
		h.T.Fatalf("%s: %v", query, err)
	}
	return n
}

// Day is a day of workflow time.
const Day = 24 * time.Hour
