package main_test

import (
	"bytes"
	"context"
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
	"strings"
	"testing"
	"time"

	campaignact "github.com/complyflow/complyflow/activities/campaign"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	changeact "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/workflows/campaign"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/policychange"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
	"github.com/jmoiron/sqlx"
)

// changeRequestPortal is a portal whose mail goes to a real SMTP sink.
type changeRequestPortal struct {
	URL    string
	sink   *devmail.Sink
	signer *links.Signer
	queue  string // the test's task queue, on which the portal starts requests
}

func newChangeRequestPortal(t *testing.T, db *sqlx.DB, tc client.Client) *changeRequestPortal {
	t.Helper()
	queue := testenv.TaskQueue(t)
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	keys := []links.Key{{Secret: []byte("portal-test-link-key-0123456789")}}
	signer, err := links.NewSigner(keys)
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	handler = (&portal.Server{
		Config: config.Config{LinkSigningKeys: keys, PortalBaseURL: srv.URL, LinkTTL: time.Hour, TaskQueue: queue},
		DB:     db, Temporal: tc, Logger: logger,
		Mailer: &notify.Mailer{Addr: sink.Addr(), From: "Complyflow <complyflow@example.com>"},
	}).Handler()
	return &changeRequestPortal{URL: srv.URL, sink: sink, signer: signer, queue: queue}
}

var confirmLinkRE = regexp.MustCompile(`http://\S+/change-requests/confirm/[A-Za-z0-9_\-.]+`)

// confirmLink is the link in the confirmation email to address.
func (p *changeRequestPortal) confirmLink(t *testing.T, to string) string {
	t.Helper()
	var link string
	eventually(t, "the confirmation email to "+to, func() bool {
		for _, m := range p.sink.Messages() {
			if m.To[0] == to {
				_, text := textPart(t, m.Raw)
				link = confirmLinkRE.FindString(text)
			}
		}
		return link != ""
	})
	return link
}

// htmlPart is the text/html part of a multipart/alternative message.
func htmlPart(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text/html part: %v", err)
		}
		if ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct == "text/html" {
			b, _ := io.ReadAll(part)
			return string(b)
		}
	}
}

func TestChangeRequestForm(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'), ('eve', 'eve@example.com', 'Eve Employee'),
			('nat', '', 'Nat No-Mail');
		INSERT INTO people (id, email, name, end_date) VALUES ('lee', 'lee@example.com', 'Lee Left', '2020-01-01');
		INSERT INTO people (id, email, name) VALUES ('cleo', 'cleo@example.com', 'Cleo CEO');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam'), ('ceo', 'cleo');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES ('access', 'Access Control Policy', 'sam', 'policies/access.md', '2023-01-10');`)
	tc := testenv.Temporal(t)
	p := newChangeRequestPortal(t, db.App, tc)

	code, body := send(t, http.MethodGet, p.URL+"/change-requests/new?policy=access", nil)
	if code != http.StatusOK || !strings.Contains(body, `<option value="access" selected>Access Control Policy (access, version 2023.1)</option>`) {
		t.Fatalf("form: %d\n%s", code, body)
	}

	post := func(form url.Values) (int, string) {
		return send(t, http.MethodPost, p.URL+"/change-requests/new", form)
	}
	code, page := post(url.Values{"requester": {" "}, "policy": {"nope"}, "kind": {"major"}, "summary": {" "}})
	for _, want := range []string{"Choose the policy", "Choose material or minor", "Summarise the change", "Give your person ID"} {
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, want) {
			t.Errorf("bad form: %d, page lacks %q", code, want)
		}
	}
	var drafts int
	db.App.Get(&drafts, `SELECT count(*) FROM change_request_drafts`)
	if drafts != 0 || len(p.sink.Messages()) != 0 {
		t.Fatalf("refused requests left %d drafts and %d emails", drafts, len(p.sink.Messages()))
	}

	code, page = post(url.Values{"requester": {"eve"}, "policy": {"access"}, "kind": {"material"}, "summary": {"require MFA <now>"},
		"reference": {"https://git.example.com/pull/9"}, "needs_production_change": {"1"}})
	if code != http.StatusAccepted || !strings.Contains(page, "we have sent a confirmation") || strings.Contains(page, "Eve Employee") {
		t.Fatalf("submit: %d\n%s", code, page)
	}
	link := p.confirmLink(t, "eve@example.com")
	// The HTML part carries the same link, and the summary as text, not markup.
	if html := htmlPart(t, p.sink.Messages()[0].Raw); !strings.Contains(html, `href="`+link+`"`) || !strings.Contains(html, "require MFA &lt;now&gt;") {
		t.Errorf("HTML part lacks the link or the escaped summary:\n%s", html)
	}
	unconfirmed := func() int {
		var n int
		db.App.Get(&n, `SELECT count(*) FROM change_request_drafts WHERE requester_id = 'eve' AND request_id IS NULL`)
		return n
	}

	// Opening the link shows the request and starts nothing (mail scanners fetch links).
	if code, page := send(t, http.MethodGet, link, nil); code != http.StatusOK || !strings.Contains(page, "Confirm your policy change request") ||
		!strings.Contains(page, "require MFA") || !strings.Contains(page, "https://git.example.com/pull/9") {
		t.Fatalf("confirmation page: %d\n%s", code, page)
	}
	if unconfirmed() != 1 {
		t.Fatal("GET of the confirmation link confirmed the request")
	}

	// A tampered link, and a valid task link for the same person, confirm nothing.
	tampered := link[:len(link)-3] + "AAA"
	taskLink := p.URL + "/change-requests/confirm/" + p.signer.Sign(links.Claims{Subject: "task/x", PersonID: "eve", Expires: time.Now().Add(time.Hour)})
	for name, u := range map[string]string{"tampered": tampered, "task link": taskLink} {
		if code, _ := send(t, http.MethodPost, u, nil); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	if unconfirmed() != 1 {
		t.Fatal("a refused link confirmed the request")
	}

	code, page = send(t, http.MethodPost, link, nil)
	if code != http.StatusCreated || !strings.Contains(page, "change-request/access/") {
		t.Fatalf("confirm: %d\n%s", code, page)
	}
	id := page[strings.Index(page, "change-request/access/"):]
	id = id[:strings.Index(id, "<")]
	// No worker runs it here; a later test's worker on the same queue must not either.
	t.Cleanup(func() { tc.TerminateWorkflow(context.Background(), id, "", "test over") })
	hist := tc.GetWorkflowHistory(context.Background(), id, "", false, 0)
	ev, err := hist.Next()
	if err != nil {
		t.Fatalf("workflow %s not started: %v", id, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	var in policychange.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		t.Fatal(err)
	}
	if attrs.GetWorkflowType().GetName() != policychange.WorkflowName || in.RequesterID != "eve" || in.Kind != "material" ||
		!in.NeedsProductionChange || in.Reference != "https://git.example.com/pull/9" {
		t.Errorf("started %s with %+v", attrs.GetWorkflowType().GetName(), in)
	}

	// Confirming again shows the request the first confirmation started.
	if code, again := send(t, http.MethodPost, link, nil); code != http.StatusOK || !strings.Contains(again, "already confirmed") || !strings.Contains(again, id) {
		t.Errorf("second confirmation: %d\n%s", code, again)
	}
	var recorded string
	db.App.Get(&recorded, `SELECT request_id FROM change_request_drafts WHERE requester_id = 'eve'`)
	if recorded != id || unconfirmed() != 0 {
		t.Errorf("draft records request %q, want %q", recorded, id)
	}

	// A confirmation whose record was lost after its run started, repeated
	// once that run has closed (and the roles changed), records that run and
	// starts no other.
	first, err := tc.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.TerminateWorkflow(context.Background(), id, "", "test: the run closed"); err != nil {
		t.Fatal(err)
	}
	db.Owner.MustExec(`UPDATE change_request_drafts SET request_id = NULL, confirmed_at = NULL WHERE request_id = $1`, id)
	db.Owner.MustExec(`DELETE FROM roles WHERE role = 'security_officer'`)
	if code, again := send(t, http.MethodPost, link, nil); code != http.StatusOK || !strings.Contains(again, "already confirmed") || !strings.Contains(again, id) {
		t.Fatalf("repeated confirmation after the run closed: %d\n%s", code, again)
	}
	after, err := tc.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := first.GetWorkflowExecutionInfo().GetExecution().GetRunId(), after.GetWorkflowExecutionInfo().GetExecution().GetRunId(); a != b {
		t.Fatalf("a second run %s was started after %s", b, a)
	}
	if unconfirmed() != 0 {
		t.Fatal("the repeated confirmation did not record the run")
	}
	db.Owner.MustExec(`INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam')`)

	// The roles are checked again at confirmation: with no CEO left to
	// approve a material change, the confirmed draft does not start.
	if code, page := post(url.Values{"requester": {"eve"}, "policy": {"access"}, "kind": {"material"}, "summary": {"second change"}}); code != http.StatusAccepted {
		t.Fatalf("second request: %d\n%s", code, page)
	}
	var second string
	eventually(t, "the second confirmation email", func() bool {
		second = p.confirmLink(t, "eve@example.com")
		return second != link
	})
	db.Owner.MustExec(`DELETE FROM roles WHERE role = 'ceo'`)
	if code, page := send(t, http.MethodPost, second, nil); code != http.StatusConflict || !strings.Contains(page, "cannot go to review") {
		t.Fatalf("confirmation with nobody to approve: %d\n%s", code, page)
	}
	if unconfirmed() != 1 {
		t.Fatal("the refused confirmation marked its draft confirmed")
	}
}

// TestChangeRequestApprovedThroughEmailedLinks is the whole path on the real
// servers: the form starts a material change, the officer and the CEO each
// approve from the link in their email, and the new version is published
// after the old one is archived and announced to everyone.
func TestChangeRequestApprovedThroughEmailedLinks(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'),
			('cleo', 'cleo@example.com', 'Cleo CEO'), ('eve', 'eve@example.com', 'Eve Employee');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam'), ('ceo', 'cleo');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES ('access', 'Access Control Policy', 'sam', 'policies/access.md', '2023-01-10');`)
	tc := testenv.Temporal(t)
	p := newChangeRequestPortal(t, db.App, tc)
	sink, signer := p.sink, p.signer

	mailer := &notify.Mailer{Addr: sink.Addr(), From: "Complyflow <complyflow@example.com>"}
	w := worker.New(tc, p.queue, worker.Options{})
	w.RegisterWorkflowWithOptions(humantask.Workflow, workflow.RegisterOptions{Name: humantask.WorkflowName})
	w.RegisterWorkflowWithOptions(policychange.Workflow, workflow.RegisterOptions{Name: policychange.WorkflowName})
	w.RegisterActivity(&taskact.Tasks{DB: db.App})
	w.RegisterActivity(&taskact.Notifier{DB: db.App, Mailer: mailer, Links: signer, BaseURL: p.URL, LinkTTL: time.Hour})
	w.RegisterActivity(&changeact.Activities{DB: db.App})
	w.RegisterActivity(&changeact.Announcer{DB: db.App, Pool: notify.NewPool(mailer, 2)})
	// The material change starts its re-acknowledgement campaign.
	w.RegisterWorkflowWithOptions(campaign.Workflow, workflow.RegisterOptions{Name: campaign.WorkflowName})
	w.RegisterActivity(&campaignact.Activities{DB: db.App, Pool: notify.NewPool(mailer, 2), Links: signer, BaseURL: p.URL, LinkTTL: time.Hour})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	code, page := send(t, http.MethodPost, p.URL+"/change-requests/new", url.Values{"requester": {"eve"}, "policy": {"access"},
		"kind": {"material"}, "summary": {"require MFA for every production login"}, "text": {"2024.1: MFA everywhere"}})
	if code != http.StatusAccepted {
		t.Fatalf("submit: %d\n%s", code, page)
	}
	if code, page = send(t, http.MethodPost, p.confirmLink(t, "eve@example.com"), nil); code != http.StatusCreated {
		t.Fatalf("confirm: %d\n%s", code, page)
	}
	id := page[strings.Index(page, "change-request/access/"):]
	id = id[:strings.Index(id, "<")]

	approveFromEmail := func(to, subject string) {
		t.Helper()
		var raw []byte
		eventually(t, "the task email to "+to, func() bool {
			for _, m := range sink.Messages() {
				if m.To[0] == to && strings.Contains(string(m.Raw), subject) {
					raw = m.Raw
				}
			}
			return raw != nil
		})
		_, text := textPart(t, raw)
		link := linkRE.FindString(text)
		if link == "" {
			t.Fatalf("no link in the email to %s:\n%s", to, text)
		}
		if code, page := send(t, http.MethodPost, link, url.Values{"action": {"approve"}}); code != http.StatusOK {
			t.Fatalf("approve as %s: %d\n%s", to, code, page)
		}
	}
	approveFromEmail("sam@example.com", "Review policy change request")
	approveFromEmail("cleo@example.com", "Approve material policy change")

	var st policychange.Status
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	version := time.Now().UTC().Format("2006") + ".1"
	if st.Stage != changeact.StatusPublished || st.Version != version || st.ArchivedVersion != "2023.1" || st.Announced != 3 {
		t.Fatalf("result %+v: want %s published after archiving 2023.1, announced to 3", st, version)
	}
	var ordered int
	db.App.Get(&ordered, `SELECT count(*) FROM policy_versions old, policy_versions new WHERE old.policy_id = 'access' AND new.policy_id = 'access'
		AND old.version = '2023.1' AND new.version = $1 AND old.archived_at < new.published_at AND new.body = '2024.1: MFA everywhere'`, version)
	if ordered != 1 {
		t.Error("the old version was not archived before the new one was published")
	}
	var told []string
	db.App.Select(&told, `SELECT recipient_id FROM notifications WHERE task_id = $1 AND purpose = 'policy-announcement' AND status = 'sent' ORDER BY 1`, id)
	if strings.Join(told, ",") != "cleo,eve,sam" {
		t.Errorf("announced to %v", told)
	}
}
