package main_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/workflows/humantask"

	"github.com/slack-go/slack/slacktest"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	historypb "go.temporal.io/api/history/v1"

	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
	"github.com/complyflow/complyflow/workflows"
)

const slackSecret = "slack-signing-secret-for-tests"

// taskSystem is a worker, a portal, an SMTP server and a Slack API server
// around one test database and the shared Temporal dev server.
type taskSystem struct {
	db       *testenv.DB
	temporal client.Client
	queue    string
	mail     *devmail.Sink
	portal   *httptest.Server

	mu           sync.Mutex
	slackUpdates []string // texts of chat.update calls
}

// newTaskSystem starts the portal and a worker running human tasks; extra
// puts a process under test on the same worker.
func newTaskSystem(t *testing.T, extra ...func(w worker.Registry, s *taskSystem)) *taskSystem {
	t.Helper()
	s := &taskSystem{db: testenv.Postgres(t), temporal: testenv.Temporal(t), queue: "portal-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	if _, err := s.db.Owner.Exec(`
		INSERT INTO people (id, name, email, manager_id, slack_user_id) VALUES
		  ('mia', 'Mia Manager', 'mia@example.com', NULL, ''),
		  ('ann', 'Ann Analyst', 'ann@example.com', 'mia', ''),
		  ('bob', 'Bob Builder', '', 'mia', 'U0BOB')`); err != nil {
		t.Fatal(err)
	}

	s.mail = &devmail.Sink{}
	if err := s.mail.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.mail.Close() })

	slackSrv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.update", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			s.mu.Lock()
			s.slackUpdates = append(s.slackUpdates, r.Form.Get("text"))
			s.mu.Unlock()
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, r.Form.Get("channel"), r.Form.Get("ts"))
		})
	})
	slackSrv.Start()
	t.Cleanup(slackSrv.Stop)

	keys := []links.Key{{Secret: []byte("portal-test-link-key-0123456789")}}
	signer, err := links.NewSigner(keys)
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	s.portal = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(s.portal.Close)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	handler = (&portal.Server{
		Config: config.Config{LinkSigningKeys: keys, SlackSigningSecret: slackSecret},
		DB:     s.db.App, Temporal: s.temporal, Logger: logger,
	}).Handler()

	w := worker.New(s.temporal, s.queue, worker.Options{})
	w.RegisterWorkflowWithOptions(humantask.Workflow, workflow.RegisterOptions{Name: humantask.WorkflowName})
	w.RegisterActivity(&taskact.Tasks{DB: s.db.App})
	w.RegisterActivity(&taskact.Notifier{
		DB:     s.db.App,
		Mailer: &notify.Mailer{Addr: s.mail.Addr(), From: "Complyflow <complyflow@example.com>"},
		Slack:  notify.NewSlack("xoxb-test", slackSrv.GetAPIURL()),
		Links:  signer, BaseURL: s.portal.URL, LinkTTL: time.Hour,
	})
	for _, register := range extra {
		register(w, s)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return s
}

func (s *taskSystem) start(t *testing.T, in humantask.Input) client.WorkflowRun {
	t.Helper()
	run, err := s.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: in.TaskID, TaskQueue: s.queue}, humantask.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.temporal.TerminateWorkflow(context.Background(), in.TaskID, "", "test over") })
	return run
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// textPart returns a message's header and its text/plain part, decoded.
func textPart(t *testing.T, raw []byte) (mail.Header, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: want multipart/alternative", m.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var text string
	types := []string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		if ct == "text/plain" {
			text = string(b)
		}
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Fatalf("parts %v, want text/plain and text/html", types)
	}
	return m.Header, text
}

func (s *taskSystem) status(t *testing.T, taskID string) humantask.Status {
	t.Helper()
	v, err := s.temporal.QueryWorkflow(context.Background(), taskID, "", workflows.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st humantask.Status
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (s *taskSystem) strings(t *testing.T, query string, args ...any) []string {
	t.Helper()
	var out []string
	if err := s.db.App.Select(&out, query, args...); err != nil {
		t.Fatal(err)
	}
	return out
}

func send(t *testing.T, method, u string, form url.Values) (int, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = http.Get(u)
	} else {
		resp, err = http.PostForm(u, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var linkRE = regexp.MustCompile(`http://[^\s]+/t/[A-Za-z0-9_\-.]+`)

func TestTaskByEmailLink(t *testing.T) {
	s := newTaskSystem(t)
	in := humantask.Input{
		TaskID: "task/portal-test/email", AssigneeID: "ann", Subject: "Approve the access review",
		Body: "The Q1 access review is ready.\n\nPlease approve or reject it.", Due: time.Now().Add(-time.Minute),
		RemindEvery: 2 * time.Second, Escalation: []workflows.EscalationStep{{After: 0, To: workflows.EscalateToManager}},
		Actions: []humantask.Action{humantask.ActionApprove, humantask.ActionReject}, ControlIDs: []string{"CC6.2", "CC7.1"},
	}
	run := s.start(t, in)

	// The task is overdue from the start: Ann is told, then Mia is escalated to.
	var annMail []byte
	eventually(t, "the emails to ann and mia", func() bool {
		var mia bool
		for _, m := range s.mail.Messages() {
			if m.To[0] == "ann@example.com" && annMail == nil {
				annMail = m.Raw
			}
			mia = mia || m.To[0] == "mia@example.com"
		}
		return annMail != nil && mia
	})
	header, text := textPart(t, annMail)
	wantID := notify.MessageID(notify.NotificationKey(in.TaskID, "assigned", "email", "ann"), "complyflow@example.com")
	if header.Get("Message-Id") != wantID || header.Get("Subject") != "Task: Approve the access review" {
		t.Errorf("Message-ID %q (want %q), Subject %q", header.Get("Message-Id"), wantID, header.Get("Subject"))
	}
	link := linkRE.FindString(text)
	if link == "" || !strings.HasPrefix(link, s.portal.URL+"/t/") {
		t.Fatalf("no portal link in the email:\n%s", text)
	}
	eventually(t, "a reminder", func() bool {
		return len(s.strings(t, `SELECT event_key FROM task_events WHERE task_id = $1 AND kind = 'reminder'`, in.TaskID)) > 0
	})

	// GET shows the task and changes nothing.
	code, page := send(t, http.MethodGet, link, nil)
	if code != http.StatusOK || !strings.Contains(page, "Approve the access review") || !strings.Contains(page, `value="approve"`) ||
		!strings.Contains(page, "Please approve or reject it.") || !strings.Contains(page, "OVERDUE") ||
		!strings.Contains(page, "because: overdue; people: mia; to: @manager") || !strings.Contains(page, "controls CC6.2, CC7.1") {
		t.Fatalf("GET %d:\n%s", code, page)
	}
	if st := s.status(t, in.TaskID); st.Outcome != nil {
		t.Fatalf("GET completed the task: %+v", st.Outcome)
	}
	if got := s.strings(t, `SELECT status FROM tasks WHERE id = $1`, in.TaskID); got[0] != "open" {
		t.Fatalf("after GET the task is %v", got)
	}

	// A rejection without a note is refused, and says why.
	code, page = send(t, http.MethodPost, link, url.Values{"action": {"reject"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(page, "needs a note") {
		t.Fatalf("reject without note: %d\n%s", code, page)
	}

	code, page = send(t, http.MethodPost, link, url.Values{"action": {"approve"}, "note": {"looks right"}})
	if code != http.StatusOK || !strings.Contains(page, "Thank you.</strong> Approved by") {
		t.Fatalf("POST %d:\n%s", code, page)
	}
	var out humantask.Outcome
	if err := run.Get(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Action != humantask.ActionApprove || out.By != "ann" || out.Note != "looks right" {
		t.Errorf("outcome %+v", out)
	}

	code, page = send(t, http.MethodPost, link, url.Values{"action": {"reject"}, "note": {"changed my mind"}})
	if code != http.StatusConflict || !strings.Contains(page, "already done by Ann Analyst (approve) at") {
		t.Fatalf("second POST %d:\n%s", code, page)
	}

	row := s.strings(t, `SELECT status || ' ' || outcome_action || ' ' || outcome_by || ' ' || outcome_note FROM tasks WHERE id = $1`, in.TaskID)
	if row[0] != "completed approve ann looks right" {
		t.Errorf("tasks row: %q", row)
	}
	kinds := strings.Join(s.strings(t, `SELECT DISTINCT kind FROM task_events WHERE task_id = $1 ORDER BY kind`, in.TaskID), ",")
	if kinds != "completed,created,escalated,reminder" {
		t.Errorf("task event kinds: %s", kinds)
	}
	sent := s.strings(t, `SELECT idempotency_key || ' ' || status FROM notifications WHERE task_id = $1 AND purpose IN ('assigned', 'escalated/1') ORDER BY idempotency_key`, in.TaskID)
	want := []string{
		in.TaskID + "/assigned/email/ann sent", in.TaskID + "/assigned/slack/ann sent",
		in.TaskID + "/escalated/1/email/mia sent", in.TaskID + "/escalated/1/slack/mia sent",
	}
	if strings.Join(sent, "\n") != strings.Join(want, "\n") {
		t.Errorf("notifications:\n%s\nwant\n%s", strings.Join(sent, "\n"), strings.Join(want, "\n"))
	}
	s.mu.Lock()
	updates := strings.Join(s.slackUpdates, "\n")
	s.mu.Unlock()
	if !strings.Contains(updates, "approve by Ann Analyst") {
		t.Errorf("Slack messages not updated after completion: %q", updates)
	}
	saveHistory(t, s.temporal, in.TaskID, "../workflows/humantask/testdata/humantask.json")
}

func TestTaskLinkRefused(t *testing.T) {
	s := newTaskSystem(t)
	other, _ := links.NewSigner([]links.Key{{Secret: []byte("some-other-deployment-key")}})
	foreign := other.Sign(links.Claims{Subject: "task/x", PersonID: "ann", Expires: time.Now().Add(time.Hour)})
	mine, _ := links.NewSigner([]links.Key{{Secret: []byte("portal-test-link-key-0123456789")}})
	expired := mine.Sign(links.Claims{Subject: "task/x", PersonID: "ann", Expires: time.Now().Add(-time.Minute)})
	good := mine.Sign(links.Claims{Subject: "task/x", PersonID: "ann", Expires: time.Now().Add(time.Hour)})
	tampered := strings.Replace(good, good[:4], "AAAA", 1)
	for name, tok := range map[string]string{"foreign": foreign, "expired": expired, "tampered": tampered, "garbage": "nope"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			code, page := send(t, method, s.portal.URL+"/t/"+tok, url.Values{"action": {"approve"}})
			if code != http.StatusForbidden || !strings.Contains(page, "This link is not valid") || strings.Contains(page, "goroutine") {
				t.Errorf("%s %s: %d\n%s", method, name, code, page)
			}
		}
	}
}

// signedSlackRequest makes a Slack interaction request signed at ts.
func signedSlackRequest(t *testing.T, target, secret string, ts time.Time, payload any) *http.Request {
	t.Helper()
	p, _ := json.Marshal(payload)
	body := url.Values{"payload": {string(p)}}.Encode()
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

func TestTaskBySlackButton(t *testing.T) {
	s := newTaskSystem(t)
	in := humantask.Input{
		TaskID: "task/portal-test/slack", AssigneeID: "bob", Subject: "Confirm laptop returned",
		Due: time.Now().Add(72 * time.Hour), Actions: []humantask.Action{humantask.ActionDone},
	}
	run := s.start(t, in)
	eventually(t, "the Slack DM to bob", func() bool {
		return len(s.strings(t, `SELECT address FROM notifications WHERE task_id = $1 AND channel = 'slack' AND status = 'sent'`, in.TaskID)) == 1
	})
	press := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U0BOB"},
		"actions": []map[string]any{{"type": "button", "block_id": "task", "action_id": taskact.SlackActionPrefix + "done", "value": in.TaskID}},
	}
	target := s.portal.URL + "/slack/interactions"
	for name, req := range map[string]*http.Request{
		"forged": signedSlackRequest(t, target, "not-the-secret", time.Now(), press),
		"stale":  signedSlackRequest(t, target, slackSecret, time.Now().Add(-6*time.Minute), press),
	} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s request: %d, want 401", name, resp.StatusCode)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if st := s.status(t, in.TaskID); st.Outcome != nil {
		t.Fatalf("a refused request completed the task: %+v", st.Outcome)
	}
	if got := s.strings(t, `SELECT status FROM tasks WHERE id = $1`, in.TaskID); got[0] != "open" {
		t.Fatalf("after refused requests the task is %v", got)
	}

	resp, err := http.DefaultClient.Do(signedSlackRequest(t, target, slackSecret, time.Now(), press))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signed request: %d", resp.StatusCode)
	}
	var out humantask.Outcome
	if err := run.Get(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Action != humantask.ActionDone || out.By != "bob" {
		t.Errorf("outcome %+v", out)
	}
	eventually(t, "the DM to say who did it", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.slackUpdates) == 1 && strings.Contains(s.slackUpdates[0], "done by Bob Builder")
	})
	// Bob has no email: the only notice was the DM, and no failed email was recorded.
	if got := s.strings(t, `SELECT channel FROM notifications WHERE task_id = $1`, in.TaskID); strings.Join(got, ",") != "slack" {
		t.Errorf("notifications: %v", got)
	}
}

// saveHistory writes the run's history for the workflows package's replay
// test when UPDATE_HISTORIES=1.
func saveHistory(t *testing.T, c client.Client, workflowID, path string) {
	if os.Getenv("UPDATE_HISTORIES") != "1" {
		return
	}
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d events)", path, len(h.Events))
}

// link signs a task link for person the way the Notifier does.
func (s *taskSystem) link(t *testing.T, taskID, person string) string {
	t.Helper()
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("portal-test-link-key-0123456789")}})
	if err != nil {
		t.Fatal(err)
	}
	return s.portal.URL + "/t/" + signer.Sign(links.Claims{Subject: taskID, PersonID: person, Expires: time.Now().Add(time.Hour)})
}

func TestCancelledTaskSaysSo(t *testing.T) {
	s := newTaskSystem(t)
	in := humantask.Input{
		TaskID: "task/portal-test/cancelled", AssigneeID: "ann", Subject: "Review the vendor",
		Due: time.Now().Add(72 * time.Hour), Actions: []humantask.Action{humantask.ActionDone},
	}
	s.start(t, in)
	eventually(t, "the task recorded", func() bool {
		return len(s.strings(t, `SELECT id FROM tasks WHERE id = $1`, in.TaskID)) == 1
	})
	if err := s.temporal.CancelWorkflow(context.Background(), in.TaskID, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the task cancelled", func() bool {
		return s.strings(t, `SELECT status FROM tasks WHERE id = $1`, in.TaskID)[0] == "cancelled"
	})
	at := s.strings(t, `SELECT to_char(created_at AT TIME ZONE 'UTC', 'Dy FMDD Mon YYYY HH24:MI') FROM task_events WHERE task_id = $1 AND kind = 'cancelled'`, in.TaskID)[0]
	link := s.link(t, in.TaskID, "ann")

	code, page := send(t, http.MethodGet, link, nil)
	if code != http.StatusOK || !strings.Contains(page, "Cancelled at "+at+" UTC:") || strings.Contains(page, "0001") || strings.Contains(page, "Done:") {
		t.Errorf("GET %d, want it to say the task was cancelled at %s:\n%s", code, at, page)
	}
	code, page = send(t, http.MethodPost, link, url.Values{"action": {"done"}})
	if code != http.StatusConflict || !strings.Contains(page, "This task was cancelled at "+at+" UTC: nothing more is needed.") ||
		strings.Contains(page, "0001") || strings.Contains(page, "done by") {
		t.Errorf("POST %d, want it to say the task was cancelled at %s:\n%s", code, at, page)
	}
}

func TestLeaverCannotCompleteFromPortal(t *testing.T) {
	s := newTaskSystem(t)
	in := humantask.Input{
		TaskID: "task/portal-test/leaver", AssigneeID: "ann", Subject: "Confirm your training",
		Due: time.Now().Add(72 * time.Hour), Actions: []humantask.Action{humantask.ActionDone},
	}
	s.start(t, in)
	eventually(t, "the task recorded", func() bool {
		return len(s.strings(t, `SELECT id FROM tasks WHERE id = $1`, in.TaskID)) == 1
	})
	s.db.Owner.MustExec(`UPDATE people SET end_date = current_date - 1 WHERE id = 'ann'`)
	code, page := send(t, http.MethodPost, s.link(t, in.TaskID, "ann"), url.Values{"action": {"done"}})
	if code != http.StatusForbidden || !strings.Contains(page, "Not done: ann has left (end date") {
		t.Errorf("POST by a leaver: %d\n%s", code, page)
	}
	if st := s.status(t, in.TaskID); st.Outcome != nil {
		t.Fatalf("a leaver completed the task: %+v", st.Outcome)
	}
	if got := s.strings(t, `SELECT status FROM tasks WHERE id = $1`, in.TaskID); got[0] != "open" {
		t.Errorf("task %v after a leaver's POST", got)
	}
}

// slowTemporal is a Temporal client whose updates take delay to begin, as
// over a slow link; like the real one, it gives up when its context ends.
type slowTemporal struct {
	client.Client
	delay time.Duration
}

func (c slowTemporal) UpdateWorkflow(ctx context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.Client.UpdateWorkflow(ctx, opts)
}

func TestSlackButtonAnsweredBeforeASlowUpdate(t *testing.T) {
	s := newTaskSystem(t)
	in := humantask.Input{
		TaskID: "task/portal-test/slack-slow", AssigneeID: "bob", Subject: "Confirm laptop returned",
		Due: time.Now().Add(72 * time.Hour), Actions: []humantask.Action{humantask.ActionDone},
	}
	run := s.start(t, in)
	eventually(t, "the Slack DM to bob", func() bool {
		return len(s.strings(t, `SELECT address FROM notifications WHERE task_id = $1 AND channel = 'slack' AND status = 'sent'`, in.TaskID)) == 1
	})
	var mu sync.Mutex
	var replies []string
	responseURL := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		replies = append(replies, string(b))
		mu.Unlock()
	}))
	defer responseURL.Close()
	const delay = 4 * time.Second
	slow := httptest.NewServer((&portal.Server{
		Config: config.Config{SlackSigningSecret: slackSecret}, DB: s.db.App,
		Temporal: slowTemporal{Client: s.temporal, delay: delay},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}).Handler())
	defer slow.Close()
	press := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U0BOB"}, "response_url": responseURL.URL,
		"actions": []map[string]any{{"type": "button", "block_id": "task", "action_id": taskact.SlackActionPrefix + "done", "value": in.TaskID}},
	}
	// Slack: waits three seconds for the answer, then hangs up.
	pressOnce := func() {
		t.Helper()
		tr := &http.Transport{}
		c := &http.Client{Transport: tr, Timeout: 3 * time.Second}
		start := time.Now()
		resp, err := c.Do(signedSlackRequest(t, slow.URL+"/slack/interactions", slackSecret, time.Now(), press))
		if err != nil {
			t.Fatalf("no answer within Slack's three seconds: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != http.StatusOK || time.Since(start) > delay/2 {
			t.Fatalf("answer %d after %s, want 200 before the update (%s) is done", resp.StatusCode, time.Since(start), delay)
		}
	}
	pressOnce()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out humantask.Outcome
	if err := run.Get(ctx, &out); err != nil {
		t.Fatalf("the task was not completed after Slack hung up: %v", err)
	}
	if out.Action != humantask.ActionDone || out.By != "bob" {
		t.Errorf("outcome %+v", out)
	}
	// A second press is told, through response_url, that it is done already.
	pressOnce()
	eventually(t, "the reply to the second press", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(replies) == 1 && strings.Contains(replies[0], "This task was already done by Bob Builder (done) at")
	})
}
