package policychange

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/slack-go/slack/slacktest"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestAnnouncePolicyChange(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	sink := &devmail.Sink{RejectRecipient: func(to string) error {
		if to == "pat@example.com" {
			return &smtp.SMTPError{Code: 550, Message: "no such mailbox"}
		}
		return nil
	}}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	var mu sync.Mutex
	var posts []url.Values
	slackSrv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			mu.Lock()
			posts = append(posts, r.PostForm)
			mu.Unlock()
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.000100"}`, r.PostForm.Get("channel"))
		})
	})
	slackSrv.Start()
	t.Cleanup(slackSrv.Stop)

	a := &Announcer{DB: db.App, Pool: notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 2),
		Slack: notify.NewSlack("xoxb-test", slackSrv.GetAPIURL()), Channel: "#security-policies"}
	ann := AnnouncementInput{RequestID: "change-request/access/1", PolicyID: "access", PolicyTitle: "Access Control Policy",
		Version: "2023.2", Kind: "material", Summary: "MFA is required for every production login"}
	ctx := context.Background()

	res, err := a.AnnounceSlack(ctx, ann)
	if err != nil || res.Status != notify.StatusSent {
		t.Fatalf("slack announcement: %+v, %v", res, err)
	}
	if _, err := a.AnnounceSlack(ctx, ann); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(posts) != 1 || posts[0].Get("channel") != "#security-policies" || !strings.Contains(posts[0].Get("text"), "MFA is required") {
		t.Errorf("channel posts = %v, want one to #security-policies with the summary", posts)
	}
	mu.Unlock()

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	batch := func(in AnnounceEmailBatchInput) AnnounceEmailBatchResult {
		t.Helper()
		v, err := env.ExecuteActivity(a.AnnounceEmailBatch, in)
		if err != nil {
			t.Fatal(err)
		}
		var r AnnounceEmailBatchResult
		if err := v.Get(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	var batches, sent, failed int
	in := AnnounceEmailBatchInput{Announcement: ann, Limit: 4}
	for {
		r := batch(in)
		batches++
		sent, failed = sent+r.Sent, failed+r.Failed
		if r.Done {
			break
		}
		in.After = r.Last
	}
	// Six active people; Lee has left; Pat's mailbox refuses for good.
	if batches != 2 || sent != 5 || failed != 1 {
		t.Errorf("batches %d, sent %d, failed %d; want 2, 5, 1", batches, sent, failed)
	}
	if n := len(sink.Messages()); n != 5 {
		t.Errorf("%d messages delivered, want 5", n)
	}
	// A retried batch sends nothing again.
	if r := batch(AnnounceEmailBatchInput{Announcement: ann, Limit: 10}); r.Sent != 5 || !r.Done {
		t.Errorf("retried batch: %+v", r)
	}
	if n := len(sink.Messages()); n != 5 {
		t.Errorf("%d messages after a retry, want 5", n)
	}
	var told []string
	db.App.Select(&told, `SELECT recipient_id FROM notifications WHERE task_id = $1 AND channel = 'email' AND status = 'sent' ORDER BY recipient_id`, ann.RequestID)
	if got := strings.Join(told, ","); got != "cleo,coby,dee,eve,sam" {
		t.Errorf("recorded as told: %s", got)
	}
	for _, m := range sink.Messages() {
		body, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(m.Raw)))
		if !strings.Contains(strings.ReplaceAll(string(body), "\r\n", "\n"), "acknowledge the policy again") {
			t.Errorf("message to %v does not ask for a re-acknowledgement:\n%s", m.To, body)
		}
	}
}

// A mail misconfiguration fails an announcement batch retryably (the version
// is published: the announcement must go out once the configuration is
// fixed) and records nothing, while a plain notice still gives up at once.
func TestAnnouncementRetriesAMailMisconfiguration(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	mailer := &notify.Mailer{Addr: sink.Addr(), From: "complyflow at example dot com"}
	a := &Announcer{DB: db.App, Pool: notify.NewPool(mailer, 2)}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	messages := &notify.Messages{DB: db.App, Mailer: mailer}
	env.RegisterActivity(messages)
	in := AnnounceEmailBatchInput{Announcement: AnnouncementInput{RequestID: "change-request/access/1", PolicyID: "access",
		PolicyTitle: "Access Control Policy", Version: "2023.2", Kind: "material", Summary: "MFA"}, Limit: 10}

	_, err := env.ExecuteActivity(a.AnnounceEmailBatch, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "DeliveryMisconfigured" || appErr.NonRetryable() || !strings.Contains(err.Error(), "SMTP_FROM") {
		t.Fatalf("announcement batch with a bad SMTP_FROM: %v; want a retryable DeliveryMisconfigured error naming SMTP_FROM", err)
	}
	_, err = env.ExecuteActivity(messages.EmailPeople, notify.EmailPeopleInput{Key: "exception/1/reminder", Purpose: "reminder", Ref: "exception/1",
		PersonIDs: []string{"eve"}, Subject: "s", Text: "t"})
	if !errors.As(err, &appErr) || appErr.Type() != "DeliveryMisconfigured" || !appErr.NonRetryable() {
		t.Errorf("plain email with a bad SMTP_FROM: %v; want a non-retryable DeliveryMisconfigured error", err)
	}
	var n int
	db.App.Get(&n, `SELECT count(*) FROM notifications`)
	if n != 0 || len(sink.Messages()) != 0 {
		t.Fatalf("%d notifications recorded, %d sent under a misconfiguration; want none", n, len(sink.Messages()))
	}

	mailer.From = "complyflow@example.com" // fixed
	v, err := env.ExecuteActivity(a.AnnounceEmailBatch, in)
	var r AnnounceEmailBatchResult
	if err == nil {
		err = v.Get(&r)
	}
	if err != nil || r.Sent != 6 || len(sink.Messages()) != 6 {
		t.Errorf("batch once fixed: %+v, %v, %d messages; want the 6 active people told", r, err, len(sink.Messages()))
	}
}
