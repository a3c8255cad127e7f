package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	act "github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/campaign"
)

const benchPeople = 10000

// BenchmarkCampaign10k times a campaign over 10,000 people as a user runs
// it (issue 11, Performance): a file-backed Temporal dev server, real
// Postgres, a go-smtp server on loopback, and the worker in a process of
// its own; from the start of the campaign until all 10,000 assignments are
// recorded and 10,000 messages accepted. In the same run it times a plain
// client sending 10,000 messages of the same size to the same server over
// 4 connections, and reports both, their ratio, and the worker's peak RSS.
func BenchmarkCampaign10k(b *testing.B) {
	db := testenv.Postgres(b)
	seedBenchCompany(b, db)
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	c, addr := fileBackedTemporal(b)
	queue := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	w := startWorkerProcess(b, []string{"DATABASE_URL=" + db.AppURL, "DATABASE_OWNER_URL=" + db.OwnerURL,
		"TEMPORAL_ADDRESS=" + addr, "TEMPORAL_NAMESPACE=default", "TEMPORAL_TASK_QUEUE=" + queue,
		"SMTP_ADDR=" + sink.Addr(), "SMTP_POOL_SIZE=4", "LINK_SIGNING_KEY=bench-link-signing-key-0123456789",
		"PORTAL_BASE_URL=https://comply.example.com", "METRICS_ADDR="})
	ctx := context.Background()

	var campaignTime, plainTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		in := campaign.Input{Kind: act.KindAcknowledgement, StartedBy: "bench", Reason: "benchmark"}
		in.Process, in.DuePeriod = act.ProcessAcknowledgement, 14*24*time.Hour
		id := fmt.Sprintf("campaign/acknowledgement/bench-%d", i)
		before := sink.Count()
		start := time.Now()
		if _, err := campaign.Start(ctx, c, queue, id, in); err != nil {
			b.Fatal(err)
		}
		// Polled lightly, so the watching does not slow what it watches.
		for sink.Count()-before < benchPeople || assigned(b, db, id) < benchPeople {
			time.Sleep(5 * time.Millisecond)
		}
		campaignTime += time.Since(start)

		msg := sink.Messages()[before].Raw
		start = time.Now()
		plainSend(b, sink.Addr(), msg, benchPeople, 4)
		plainTime += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(campaignTime.Seconds()/n, "campaign-s")
	b.ReportMetric(plainTime.Seconds()/n, "plain-smtp-s")
	b.ReportMetric(campaignTime.Seconds()/plainTime.Seconds(), "ratio")
	b.ReportMetric(peakRSSMiB(b, w.Process.Pid), "worker-peak-RSS-MiB")
}

// BenchmarkReminderRound10k times one reminder round to 10,000 pending
// people: the Notify activity the workflow runs, on real Postgres and SMTP.
func BenchmarkReminderRound10k(b *testing.B) {
	db := testenv.Postgres(b)
	seedBenchCompany(b, db)
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("bench-link-signing-key-0123456789")}})
	if err != nil {
		b.Fatal(err)
	}
	acts := &act.Activities{DB: db.App, Pool: notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 4),
		Links: signer, BaseURL: "https://comply.example.com", LinkTTL: time.Hour}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	id := "campaign/acknowledgement/reminders"
	def := act.Definition{ID: id, Kind: act.KindAcknowledgement, Due: 14 * 24 * time.Hour, Reason: "benchmark", StartedBy: "bench", At: time.Now()}
	if _, err := env.ExecuteActivity(acts.OpenCampaign, def); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		val, err := env.ExecuteActivity(acts.Notify, act.NoticeInput{CampaignID: id, Purpose: act.PurposeReminder(i + 1), At: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		var res act.NoticeResult
		if err := val.Get(&res); err != nil || res.Sent[notify.ChannelEmail] != benchPeople {
			b.Fatalf("round %d: %+v, %v", i+1, res, err)
		}
	}
}

func seedBenchCompany(b *testing.B, db *testenv.DB) {
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name, department)
			SELECT format('p%s', lpad(i::text, 5, '0')), format('person%s@example.com', i), format('Person %s', i),
				(ARRAY['Engineering', 'Sales', 'Support', 'Finance'])[1 + i % 4]
			FROM generate_series(1, 10000) i;
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES
			('information-security', 'Information Security Policy', 'p00001', 'https://example.com/isp', '2026-01-05'),
			('acceptable-use', 'Acceptable Use Policy', 'p00001', 'https://example.com/aup', '2026-01-05'),
			('code-of-conduct', 'Code of Conduct', 'p00001', 'https://example.com/coc', '2026-01-05')`)
}

func assigned(b *testing.B, db *testenv.DB, id string) int {
	var n int
	if err := db.Owner.Get(&n, `SELECT count(*) FROM assignments WHERE campaign_id = $1`, id); err != nil {
		b.Fatal(err)
	}
	return n
}

// fileBackedTemporal starts a dev server of its own that keeps its state in
// a SQLite file, as `make run` does, rather than in memory.
func fileBackedTemporal(b *testing.B) (client.Client, string) {
	path, err := filepath.Abs("../bin/temporal")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath: path, DBFilename: filepath.Join(b.TempDir(), "temporal.db"), LogLevel: "error",
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Stop() })
	return srv.Client(), srv.FrontendHostPort()
}

// plainSend is the yardstick: n copies of msg over conns connections, each
// reused for its share, with nothing recorded anywhere.
func plainSend(b *testing.B, addr string, msg []byte, n, conns int) {
	var wg sync.WaitGroup
	for k := range conns {
		wg.Go(func() {
			c, err := smtp.Dial(addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for i := k; i < n; i += conns {
				if err := c.SendMail("complyflow@example.com", []string{fmt.Sprintf("person%d@example.com", i)}, strings.NewReader(string(msg))); err != nil {
					b.Error(err)
					return
				}
			}
			c.Quit()
		})
	}
	wg.Wait()
}

// peakRSSMiB reads a process's peak resident set (VmHWM) from /proc.
func peakRSSMiB(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}
