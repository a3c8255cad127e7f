package main

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	act "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/campaign"
)

// workerProcess makes this test binary run as the worker (TestMain), so a
// test can kill a real worker process mid-send.
const workerProcess = "COMPLYFLOW_TEST_WORKER_PROCESS"

// startWorkerProcess runs the worker in a process of its own against the
// test's servers.
func startWorkerProcess(t testing.TB, env []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, workerProcess+"=1")...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// A campaign over 1,000 people on real Postgres, SMTP and Temporal, its
// worker killed (SIGKILL) while sending and started again: exactly one
// assignment per person, every person notified, and the messages sent twice
// no more than the one batch in flight (issue 11, Done when).
func TestCampaignSurvivesAWorkerKilledMidSend(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name, department)
			SELECT format('p%s', lpad(i::text, 4, '0')), format('p%s@example.com', i), format('Person %s', i), 'Engineering'
			FROM generate_series(1, 1000) i;
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES
			('acceptable-use', 'Acceptable Use Policy', 'p0001', 'https://example.com/aup', '2026-01-05')`)
	sink := testenv.MailSink(t)
	// A mail server slow enough (2 ms a message) that the kill lands mid-send.
	sink.RejectRecipient = func(string) error { time.Sleep(2 * time.Millisecond); return nil }
	queue := testenv.TaskQueue(t)
	env := []string{"DATABASE_URL=" + db.AppURL, "DATABASE_OWNER_URL=" + db.OwnerURL,
		"TEMPORAL_ADDRESS=" + testenv.TemporalAddress(t), "TEMPORAL_NAMESPACE=default", "TEMPORAL_TASK_QUEUE=" + queue,
		"SMTP_ADDR=" + sink.Addr(), "SMTP_POOL_SIZE=2", "LINK_SIGNING_KEY=crash-test-link-signing-key-0123456789",
		"PORTAL_BASE_URL=https://comply.example.com", "METRICS_ADDR="}
	first := startWorkerProcess(t, env)

	const batch = 100
	in := campaign.Input{Kind: act.KindAcknowledgement, StartedBy: "test", Reason: "crash test", BatchSize: batch}
	in.Process, in.DuePeriod = act.ProcessAcknowledgement, 14*24*time.Hour
	id := "campaign/acknowledgement/crash-test"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := campaign.Start(ctx, testenv.Temporal(t), queue, id, in); err != nil {
		t.Fatal(err)
	}
	for len(sink.Messages()) < 250 {
		if ctx.Err() != nil {
			t.Fatalf("only %d messages before the deadline", len(sink.Messages()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	killedAt := len(sink.Messages())
	startWorkerProcess(t, env)

	for {
		c, err := act.CountsOf(ctx, db.App, id, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if c.Notified == 1000 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("counts %+v after the restart: not everyone was notified", c)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var assignments, people, notifications int
	db.Owner.Get(&assignments, `SELECT count(*) FROM assignments WHERE campaign_id = $1`, id)
	db.Owner.Get(&people, `SELECT count(DISTINCT person_id) FROM assignments WHERE campaign_id = $1`, id)
	db.Owner.Get(&notifications, `SELECT count(*) FROM notifications WHERE task_id = $1`, id)
	if assignments != 1000 || people != 1000 || notifications != 1000 {
		t.Errorf("%d assignments for %d people, %d notifications; want exactly 1,000 of each", assignments, people, notifications)
	}
	received := map[string]int{}
	for _, m := range sink.Messages() {
		received[m.To[0]]++
	}
	dupes := len(sink.Messages()) - len(received)
	if len(received) != 1000 || dupes > batch {
		t.Errorf("%d people got mail, %d duplicates (killed after %d messages); want all 1,000 and at most one batch (%d) twice",
			len(received), dupes, killedAt, batch)
	}
	t.Logf("killed after %d messages; %d sent twice", killedAt, dupes)
}
