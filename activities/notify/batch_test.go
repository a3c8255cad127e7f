package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/slack-go/slack/slacktest"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/testenv"
)

func batchOf(n int) notify.Batch {
	b := notify.Batch{Actor: "complyflow", Action: "campaign.notified", Subject: "campaign/x", Key: "campaign/x/assigned"}
	for i := range n {
		e := email(i)
		b.Messages = append(b.Messages, notify.Outgoing{
			Notification: notify.Notification{IdempotencyKey: e.IdempotencyKey, Channel: notify.ChannelEmail,
				RecipientID: fmt.Sprintf("p%d", i), Address: e.To, Purpose: "assigned", TaskID: "campaign/x"},
			Email: e,
		})
	}
	return b
}

// A batch is sent and recorded once: each message under its key, the batch
// in one audit entry; sending it again sends and records nothing.
func TestSendBatchRecordsEachMessageOnce(t *testing.T) {
	db := testenv.Postgres(t)
	sink := testenv.MailSink(t)
	sink.RejectRecipient = func(to string) error {
		if to == "p2@example.com" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}
	pool := notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 2)
	defer pool.Close()
	res, err := notify.SendBatch(context.Background(), db.App, pool, nil, batchOf(5))
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent[notify.ChannelEmail] != 4 || res.Failed[notify.ChannelEmail] != 1 || len(sink.Messages()) != 4 {
		t.Errorf("result %+v, %d mails; want 4 sent and p2's refusal recorded", res, len(sink.Messages()))
	}
	res, err = notify.SendBatch(context.Background(), db.App, pool, nil, batchOf(5))
	if err != nil || len(res.Sent)+len(res.Failed) != 0 || len(sink.Messages()) != 4 {
		t.Errorf("the same batch again: %+v, %v, %d mails; want nothing sent", res, err, len(sink.Messages()))
	}
	var rows, audits int
	db.Owner.Get(&rows, `SELECT count(*) FROM notifications WHERE task_id = 'campaign/x'`)
	db.Owner.Get(&audits, `SELECT count(*) FROM audit_log WHERE action = 'campaign.notified' AND (detail->>'recorded')::int = 5`)
	if rows != 5 || audits != 1 {
		t.Errorf("%d notifications and %d audit entries, want 5 rows in one entry", rows, audits)
	}
}

// When the server refuses for now, what went out is recorded and the error
// returned; the retry sends only what is missing.
func TestSendBatchRetrySendsOnlyWhatIsMissing(t *testing.T) {
	db := testenv.Postgres(t)
	sink := testenv.MailSink(t)
	var busy atomic.Bool
	busy.Store(true)
	sink.RejectRecipient = func(to string) error {
		if busy.Load() && to == "p3@example.com" {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}
	pool := notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 1)
	defer pool.Close()
	if _, err := notify.SendBatch(context.Background(), db.App, pool, nil, batchOf(5)); err == nil {
		t.Fatal("a 451 must come back as an error to retry")
	}
	if n := len(sink.Messages()); n != 4 {
		t.Fatalf("%d mails after the first attempt, want the 4 others", n)
	}
	busy.Store(false)
	res, err := notify.SendBatch(context.Background(), db.App, pool, nil, batchOf(5))
	if err != nil || res.Sent[notify.ChannelEmail] != 1 {
		t.Fatalf("retry: %+v, %v; want p3 alone", res, err)
	}
	msgs := sink.Messages()
	if len(msgs) != 5 || msgs[4].To[0] != "p3@example.com" {
		t.Errorf("mails %d, last to %v", len(msgs), msgs[len(msgs)-1].To)
	}
}

// Slack DMs of a batch go one after another; a 429 is waited out for its
// Retry-After and the same message sent again, once.
func TestSendBatchWaitsOutSlacksRateLimit(t *testing.T) {
	db := testenv.Postgres(t)
	var mu sync.Mutex
	var posted []string
	var limitedAt, retriedAt time.Time
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			r.ParseForm()
			if r.Form.Get("channel") == "U2" && limitedAt.IsZero() {
				limitedAt = time.Now()
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			if r.Form.Get("channel") == "U2" {
				retriedAt = time.Now()
			}
			posted = append(posted, r.Form.Get("channel"))
			fmt.Fprintf(w, `{"ok":true,"channel":"D%s","ts":"1700000000.0001"}`, r.Form.Get("channel"))
		})
	})
	srv.Start()
	defer srv.Stop()
	b := notify.Batch{Actor: "complyflow", Action: "campaign.notified", Subject: "campaign/x", Key: "campaign/x/assigned"}
	for i := range 3 {
		key := fmt.Sprintf("campaign/x/p%d/assigned/slack", i)
		b.Messages = append(b.Messages, notify.Outgoing{
			Notification: notify.Notification{IdempotencyKey: key, Channel: notify.ChannelSlack, RecipientID: fmt.Sprintf("p%d", i),
				Address: fmt.Sprintf("U%d", i), Purpose: "assigned", TaskID: "campaign/x"},
			SlackText: "Read and accept",
		})
	}
	res, err := notify.SendBatch(context.Background(), db.App, nil, notify.NewSlack("xoxb-test", srv.GetAPIURL()), b)
	if err != nil || res.Sent[notify.ChannelSlack] != 3 {
		t.Fatalf("%+v, %v; want 3 DMs sent", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(posted, ",") != "U0,U1,U2" {
		t.Errorf("posted %v, want each DM once, in order", posted)
	}
	if wait := retriedAt.Sub(limitedAt); wait < time.Second {
		t.Errorf("retried %v after the 429, want at least its Retry-After (1s)", wait)
	}
}
