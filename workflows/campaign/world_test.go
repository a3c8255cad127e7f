package campaign

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
)

const day = 24 * time.Hour

// world is a small company on a real Postgres and a real SMTP server, with
// the Campaign workflow under Temporal's test suite (time skipped).
type world struct {
	testsuite.WorkflowTestSuite
	t    *testing.T
	env  *testsuite.TestWorkflowEnvironment
	db   *testenv.DB
	sink *devmail.Sink
	acts *act.Activities
}

// The company: the officer; Mia manages Ann and Bob in Engineering, Sal
// manages Cat in Sales; Lee leaves on day 5; Nia starts on day 7.
func newWorld(t *testing.T, start time.Time) *world {
	w := &world{t: t, db: testenv.Postgres(t), sink: &devmail.Sink{}}
	if err := w.sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.sink.Close() })
	d := func(offset time.Duration) string { return start.Add(offset).Format("2006-01-02") }
	w.db.Owner.MustExec(fmt.Sprintf(`
		INSERT INTO people (id, email, name, department, manager_id, start_date, end_date) VALUES
			('sam', 'sam@example.com', 'Sam Officer', 'Security', NULL, NULL, NULL),
			('mia', 'mia@example.com', 'Mia Manager', 'Engineering', NULL, NULL, NULL),
			('ann', 'ann@example.com', 'Ann Engineer', 'Engineering', 'mia', NULL, NULL),
			('bob', 'bob@example.com', 'Bob Engineer', 'Engineering', 'mia', NULL, NULL),
			('sal', 'sal@example.com', 'Sal Sales', 'Sales', NULL, NULL, NULL),
			('cat', 'cat@example.com', 'Cat Seller', 'Sales', 'sal', NULL, NULL),
			('lee', 'lee@example.com', 'Lee Leaving', 'Sales', 'sal', NULL, '%s'),
			('nia', 'nia@example.com', 'Nia New', 'Engineering', 'mia', '%s', NULL);
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES
			('acceptable-use', 'Acceptable Use Policy', 'sam', 'https://example.com/aup', '2026-01-05'),
			('code-of-conduct', 'Code of Conduct', 'sam', 'https://example.com/coc', '2026-01-05');
		INSERT INTO trainings (id, title, source, content, content_sha256, quiz, pass_mark) VALUES
			('awareness', 'Security Awareness', 'trainings/awareness.md', 'Lock your screen.', 'abc',
			 '[{"question": "Lock it?", "choices": ["yes", "no"], "correct": [0]}]', 1);
	`, d(5*day), d(7*day)))
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("campaign-test-link-key-0123456")}})
	if err != nil {
		t.Fatal(err)
	}
	mailer := &notify.Mailer{Addr: w.sink.Addr(), From: "complyflow@example.com"}
	w.acts = &act.Activities{DB: w.db.App, Pool: notify.NewPool(mailer, 2), Links: signer,
		BaseURL: "https://comply.example.com", LinkTTL: 30 * day}
	w.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	w.newEnv(start)
	return w
}

// newEnv is a fresh test environment on the same database and mailbox, e.g.
// for the run a continue-as-new starts.
func (w *world) newEnv(start time.Time) {
	w.env = w.NewTestWorkflowEnvironment()
	w.env.SetStartTime(start)
	w.env.SetTestTimeout(time.Minute)
	w.env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	w.env.RegisterActivity(w.acts)
}

// run runs the campaign under id to its end and returns its status.
func (w *world) run(id string, in Input) (Status, error) {
	w.t.Helper()
	w.env.SetStartWorkflowOptions(clientOptions(id))
	w.env.ExecuteWorkflow(WorkflowName, in)
	if !w.env.IsWorkflowCompleted() {
		w.t.Fatal("the campaign did not finish")
	}
	var st Status
	err := w.env.GetWorkflowError()
	if err == nil {
		if gerr := w.env.GetWorkflowResult(&st); gerr != nil {
			w.t.Fatal(gerr)
		}
	}
	return st, err
}

// at runs f at workflow time offset from start.
func (w *world) at(offset time.Duration, f func()) {
	w.env.RegisterDelayedCallback(f, offset)
}

// complete marks a person's assignment completed, as the portal's record does.
func (w *world) complete(id, person string) {
	w.db.Owner.MustExec(`UPDATE assignments SET status = 'completed' WHERE campaign_id = $1 AND person_id = $2`, id, person)
}

// mailsTo lists the subjects of the mail each address received, in order.
func (w *world) mailsTo(addr string) []string {
	var out []string
	for _, m := range w.sink.Messages() {
		if len(m.To) == 1 && m.To[0] == addr {
			h, _ := testenv.MailParts(w.t, m.Raw)
			out = append(out, h.Get("Subject"))
		}
	}
	return out
}

// bodyTo is the text of the nth mail to addr whose subject has prefix.
func (w *world) bodyTo(addr, prefix string) string {
	for _, m := range w.sink.Messages() {
		if len(m.To) == 1 && m.To[0] == addr {
			h, parts := testenv.MailParts(w.t, m.Raw)
			if strings.HasPrefix(h.Get("Subject"), prefix) {
				return parts["text/plain"]
			}
		}
	}
	w.t.Fatalf("no mail to %s with a subject starting %q", addr, prefix)
	return ""
}

func (w *world) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.Owner.Get(&n, query, args...); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
	return n
}
