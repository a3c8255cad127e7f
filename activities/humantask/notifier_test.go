package humantask_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/slack-go/slack/slacktest"
	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
)

func newNotifier(t *testing.T, sink *devmail.Sink, slackURL string) (*humantask.Notifier, *testenv.DB) {
	t.Helper()
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name, email, slack_user_id) VALUES
		('ann', 'Ann Analyst', 'ann@example.com', ''), ('gus', 'Gus Gone', 'gone@example.com', 'U0GUS'),
		('nel', 'Nel Nowhere', '', '')`)
	tasks := &humantask.Tasks{DB: db.App}
	for _, p := range []string{"ann", "gus", "nel"} {
		if err := tasks.CreateTask(context.Background(), humantask.CreateTaskInput{TaskID: "task/n/" + p, AssigneeID: p,
			Subject: "Review", Due: time.Now().Add(time.Hour), Actions: []string{"done"}}); err != nil {
			t.Fatal(err)
		}
	}
	signer, _ := links.NewSigner([]links.Key{{Secret: []byte("notifier-test-key-0123456")}})
	n := &humantask.Notifier{DB: db.App, Mailer: &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"},
		Links: signer, BaseURL: "http://portal.test", LinkTTL: time.Hour}
	if slackURL != "" {
		n.Slack = notify.NewSlack("xoxb-test", slackURL)
	}
	return n, db
}

func rows(t *testing.T, db *testenv.DB) []string {
	t.Helper()
	var out []string
	if err := db.App.Select(&out, `SELECT idempotency_key || ' ' || status || ' ' || address FROM notifications ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSendTaskEmailOnceAndRecordsRefusals(t *testing.T) {
	sink := testenv.MailSink(t)
	busy := true
	sink.RejectRecipient = func(to string) error {
		switch {
		case to == "gone@example.com":
			return &smtp.SMTPError{Code: 550, Message: "no such user"}
		case to == "ann@example.com" && busy:
			return &smtp.SMTPError{Code: 421, Message: "busy"}
		}
		return nil
	}
	n, db := newNotifier(t, sink, "")
	ctx := context.Background()
	in := humantask.TaskNoticeInput{TaskID: "task/n/ann", PersonID: "ann", Purpose: "assigned"}

	// 4xx: an error to retry, nothing recorded.
	if _, err := n.SendTaskEmail(ctx, in); err == nil {
		t.Fatal("a 4xx answer must be an error, so Temporal retries")
	}
	if got := rows(t, db); len(got) != 0 {
		t.Fatalf("a 4xx answer was recorded: %q", got)
	}
	busy = false
	for i := 0; i < 2; i++ { // the second call is a retried activity
		res, err := n.SendTaskEmail(ctx, in)
		if err != nil || res.Status != humantask.NoticeSent {
			t.Fatalf("attempt %d: %+v %v", i, res, err)
		}
	}
	if len(sink.Messages()) != 1 {
		t.Errorf("sent %d messages, want 1: a recorded send is not repeated", len(sink.Messages()))
	}
	// The next reminder is a new message.
	if res, _ := n.SendTaskEmail(ctx, humantask.TaskNoticeInput{TaskID: "task/n/ann", PersonID: "ann", Purpose: "reminder/1"}); res.Status != humantask.NoticeSent {
		t.Errorf("reminder: %+v", res)
	}

	// 5xx: recorded as failed, no error (not retried), and not tried again.
	gone := humantask.TaskNoticeInput{TaskID: "task/n/gus", PersonID: "gus", Purpose: "assigned"}
	for i := 0; i < 2; i++ {
		res, err := n.SendTaskEmail(ctx, gone)
		if err != nil || res.Status != humantask.NoticeFailed || !strings.Contains(res.Reason, "550") {
			t.Fatalf("attempt %d: %+v %v", i, res, err)
		}
	}
	// No address: nothing attempted, nothing recorded.
	res, err := n.SendTaskEmail(ctx, humantask.TaskNoticeInput{TaskID: "task/n/nel", PersonID: "nel", Purpose: "assigned"})
	if err != nil || res.Status != humantask.NoticeUnavailable {
		t.Errorf("no address: %+v %v", res, err)
	}
	want := []string{
		"task/n/ann/assigned/email/ann sent ann@example.com",
		"task/n/ann/reminder/1/email/ann sent ann@example.com",
		"task/n/gus/assigned/email/gus failed gone@example.com",
	}
	if got := rows(t, db); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notifications:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The email carries the person's own signed link.
	_, p := testenv.MailParts(t, sink.Messages()[0].Raw)
	if !strings.Contains(p["text/plain"], "http://portal.test/t/") || !strings.Contains(p["text/html"], "http://portal.test/t/") {
		t.Errorf("no portal link:\n%s", p["text/plain"])
	}
}

func TestSendTaskSlack(t *testing.T) {
	var mu sync.Mutex
	var posted []string
	limited := 1
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if limited > 0 {
				limited--
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			r.ParseForm()
			posted = append(posted, r.Form.Get("channel")+" "+r.Form.Get("blocks"))
			fmt.Fprintf(w, `{"ok":true,"channel":"D%s","ts":"1700000000.0001"}`, r.Form.Get("channel"))
		})
	})
	srv.Start()
	defer srv.Stop()
	n, db := newNotifier(t, testenv.MailSink(t), srv.GetAPIURL())
	ctx := context.Background()
	in := humantask.TaskNoticeInput{TaskID: "task/n/gus", PersonID: "gus", Purpose: "assigned"}

	_, err := n.SendTaskSlack(ctx, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.NextRetryDelay() != 7*time.Second || appErr.NonRetryable() {
		t.Fatalf("429: %v, want a retryable error whose next attempt waits Retry-After (7s)", err)
	}
	res, err := n.SendTaskSlack(ctx, in)
	if err != nil || res.Status != humantask.NoticeSent {
		t.Fatalf("after the rate limit: %+v %v", res, err)
	}
	// Ann has no Slack ID: she is found by email (slacktest's user W012A3CDE).
	if res, err := n.SendTaskSlack(ctx, humantask.TaskNoticeInput{TaskID: "task/n/ann", PersonID: "ann", Purpose: "assigned"}); err != nil || res.Status != humantask.NoticeSent {
		t.Fatalf("by email: %+v %v", res, err)
	}
	if res, _ := n.SendTaskSlack(ctx, humantask.TaskNoticeInput{TaskID: "task/n/nel", PersonID: "nel", Purpose: "assigned"}); res.Status != humantask.NoticeUnavailable {
		t.Errorf("no Slack ID and no email: %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 2 || !strings.HasPrefix(posted[0], "U0GUS ") || !strings.HasPrefix(posted[1], "W012A3CDE ") {
		t.Fatalf("posted %q", posted)
	}
	if !strings.Contains(posted[0], `"action_id":"complyflow-task:done"`) || !strings.Contains(posted[0], `"value":"task/n/gus"`) {
		t.Errorf("no button for the action: %s", posted[0])
	}
	want := []string{
		"task/n/gus/assigned/slack/gus sent U0GUS",
		"task/n/ann/assigned/slack/ann sent W012A3CDE",
	}
	if got := rows(t, db); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notifications:\n%s", strings.Join(got, "\n"))
	}
	var ref string
	db.App.Get(&ref, `SELECT provider_ref FROM notifications WHERE task_id = 'task/n/gus'`)
	if ref != "DU0GUS/1700000000.0001" {
		t.Errorf("provider_ref %q: chat.update needs the DM channel and ts", ref)
	}
}

func TestServerWideFailuresAreNotRecordedAsRefusals(t *testing.T) {
	addr, _ := testenv.RefusingSMTP(t)
	n, db := newNotifier(t, testenv.MailSink(t), "")
	ctx := context.Background()
	in := humantask.TaskNoticeInput{TaskID: "task/n/ann", PersonID: "ann", Purpose: "assigned"}

	// Bad credentials refuse everyone: a retryable error, nothing recorded.
	n.Mailer = &notify.Mailer{Addr: addr, From: "complyflow@example.com", Username: "mailer", Password: "wrong"}
	_, err := n.SendTaskEmail(ctx, in)
	var appErr *temporal.ApplicationError
	if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
		t.Fatalf("bad credentials: %v, want a retryable error", err)
	}
	// A sender the server refuses (a bad SMTP_FROM): the same.
	n.Mailer = &notify.Mailer{Addr: addr, From: "bad@example.com"}
	if _, err := n.SendTaskEmail(ctx, in); err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
		t.Fatalf("refused sender: %v, want a retryable error", err)
	}
	// Credentials that would go out unencrypted: a configuration error, not retried, not recorded.
	n.Mailer = &notify.Mailer{Addr: "smtp.example.com:587", From: "complyflow@example.com", Username: "mailer", Password: "right"}
	n.Mailer.SetDialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	})
	_, err = n.SendTaskEmail(ctx, in)
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != "DeliveryMisconfigured" || !strings.Contains(err.Error(), "SMTP_ADDR") {
		t.Fatalf("no TLS for credentials: %v, want a non-retryable DeliveryMisconfigured error naming SMTP_ADDR", err)
	}
	if got := rows(t, db); len(got) != 0 {
		t.Fatalf("a server-wide failure was recorded: %q", got)
	}
	// Once the configuration is fixed, the message goes out.
	n.Mailer = &notify.Mailer{Addr: addr, From: "complyflow@example.com", Username: "mailer", Password: "right"}
	if res, err := n.SendTaskEmail(ctx, in); err != nil || res.Status != humantask.NoticeSent {
		t.Fatalf("after the fix: %+v %v", res, err)
	}
}

func TestSlackAuthFailuresAreNotRecordedAsRefusals(t *testing.T) {
	var mu sync.Mutex
	answer := "invalid_auth"
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if answer != "" {
				fmt.Fprintf(w, `{"ok":false,"error":%q}`, answer)
				return
			}
			r.ParseForm()
			fmt.Fprintf(w, `{"ok":true,"channel":"D%s","ts":"1700000000.0001"}`, r.Form.Get("channel"))
		})
	})
	srv.Start()
	defer srv.Stop()
	n, db := newNotifier(t, testenv.MailSink(t), srv.GetAPIURL())
	ctx := context.Background()
	in := humantask.TaskNoticeInput{TaskID: "task/n/gus", PersonID: "gus", Purpose: "assigned"}
	for _, a := range []string{"invalid_auth", "not_authed", "account_inactive", "token_revoked"} {
		mu.Lock()
		answer = a
		mu.Unlock()
		_, err := n.SendTaskSlack(ctx, in)
		var appErr *temporal.ApplicationError
		if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
			t.Errorf("%s: %v, want a retryable error", a, err)
		}
	}
	if got := rows(t, db); len(got) != 0 {
		t.Fatalf("a bot-wide failure was recorded: %q", got)
	}
	mu.Lock()
	answer = ""
	mu.Unlock()
	if res, err := n.SendTaskSlack(ctx, in); err != nil || res.Status != humantask.NoticeSent {
		t.Fatalf("after the token is fixed: %+v %v", res, err)
	}
	// The recipient's own refusal is recorded, and not retried.
	mu.Lock()
	answer = "user_not_found"
	mu.Unlock()
	res, err := n.SendTaskSlack(ctx, humantask.TaskNoticeInput{TaskID: "task/n/gus", PersonID: "gus", Purpose: "reminder/1"})
	if err != nil || res.Status != humantask.NoticeFailed || !strings.Contains(res.Reason, "user_not_found") {
		t.Fatalf("user_not_found: %+v %v", res, err)
	}
}

// A task reassigned to someone (a leaver's, to their manager) tells them
// whose it was and why, with their own link.
func TestReassignedNoticeSaysWhoseAndWhy(t *testing.T) {
	sink := testenv.MailSink(t)
	n, _ := newNotifier(t, sink, "")
	res, err := n.SendTaskEmail(context.Background(), humantask.TaskNoticeInput{TaskID: "task/n/gus", PersonID: "ann",
		Purpose: "reassigned/ann", Reason: "gus has left (last day 2026-12-18)"})
	if err != nil || res.Status != humantask.NoticeSent {
		t.Fatalf("%+v %v", res, err)
	}
	h, p := testenv.MailParts(t, sink.Messages()[0].Raw)
	if !strings.HasPrefix(h.Get("Subject"), "Reassigned to you: Review") ||
		!strings.Contains(p["text/plain"], "This task was assigned to Gus Gone. It has been handed to you (gus has left (last day 2026-12-18))") ||
		!strings.Contains(p["text/plain"], "http://portal.test/t/") {
		t.Errorf("subject %q, text:\n%s", h.Get("Subject"), p["text/plain"])
	}
}
