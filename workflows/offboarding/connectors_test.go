package offboarding

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	act "github.com/complyflow/complyflow/activities/offboarding"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// receiver is a webhook that answers from a script and keeps what it got.
type receiver struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	got     []act.WebhookEvent
	calls   []time.Time
}

func (rc *receiver) start(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		var ev act.WebhookEvent
		json.Unmarshal(body, &ev)
		rc.got = append(rc.got, ev)
		rc.calls = append(rc.calls, time.Now())
		answer := rc.answers[min(len(rc.got), len(rc.answers))-1]
		answer(w)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

func reply(code int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// Webhook: called after the end of the last day; 5xx answers are retried
// with backoff until {"status":"removed"} confirms, recorded as the
// connector's removal with its status code and body digest.
func TestWebhook5xxThenRemoved(t *testing.T) {
	h := newHarness(t)
	rc := &receiver{answers: []func(http.ResponseWriter){reply(503, "busy"), reply(502, "bad gateway"), reply(200, `{"status":"removed"}`)}}
	h.system("sys-hook", "webhook", "critical", rc.start(t))
	st, err := h.run("mo")
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.got) != 3 || h.started["CallWebhook"] != 3 {
		t.Fatalf("%d calls (%d activity attempts), want 3", len(rc.got), h.started["CallWebhook"])
	}
	ev := rc.got[2]
	if ev.Event != "access.remove" || ev.Person != (act.WebhookPerson{ID: "lee", Email: "lee@example.com", Name: "Lee Leaver"}) ||
		ev.System != "sys-hook" || ev.LastDay != lastDay || !strings.HasPrefix(ev.CallbackURL, "https://comply.example.com/connector/callback/") {
		t.Errorf("event %+v", ev)
	}
	r := h.removals()["sys-hook"]
	if r.Method != "webhook" || r.By != "connector:sys-hook" || r.Code == nil || *r.Code != 200 || r.BodySHA != act.Digest([]byte(`{"status":"removed"}`)) ||
		!r.Met || r.At.Before(endOfDay) {
		t.Errorf("evidence %+v", r)
	}
	if st.Systems[0].State != StateDone {
		t.Errorf("status %+v", st.Systems[0])
	}
}

// Webhook 5xx until its retries are exhausted: the owner gets the task,
// saying so.
func TestWebhookRetriesExhaustedFallBackToOwnerTask(t *testing.T) {
	h := newHarness(t)
	rc := &receiver{answers: []func(http.ResponseWriter){reply(503, "down for maintenance")}}
	h.system("sys-hook", "webhook", "medium", rc.start(t))
	var got []string
	h.answer(endOfDay.Add(3*time.Hour), "sys-hook", "olga", humantask.ActionRemoved, "by hand", &got)
	if _, err := h.run("mo"); err != nil {
		t.Fatal(err)
	}
	r := h.removals()["sys-hook"]
	if len(rc.got) != 7 || r.Method != "manual" || !strings.Contains(r.Fallback, "the webhook connector failed after its retries") ||
		!strings.Contains(r.Fallback, "answered 503: down for maintenance") {
		t.Errorf("%d calls; evidence %+v", len(rc.got), r)
	}
}

// Webhook 4xx: no retry; the owner gets a task saying why, and the evidence
// records the manual removal with the reason the connector did not do it.
func TestWebhook4xxFallsBackToOwnerTask(t *testing.T) {
	h := newHarness(t)
	rc := &receiver{answers: []func(http.ResponseWriter){reply(404, "no such user")}}
	h.system("sys-hook", "webhook", "high", rc.start(t))
	var got []string
	h.answer(endOfDay.Add(2*time.Hour), "sys-hook", "olga", humantask.ActionRemoved, "deleted by hand", &got)
	if _, err := h.run("mo"); err != nil {
		t.Fatal(err)
	}
	if len(rc.got) != 1 || len(got) != 1 {
		t.Fatalf("%d calls, answers %v", len(rc.got), got)
	}
	var body string
	h.db.Owner.Get(&body, `SELECT body FROM tasks WHERE id = $1`, removalTask("sys-hook"))
	if !strings.Contains(body, "the webhook answered 404: no such user") {
		t.Errorf("task body does not say why:\n%s", body)
	}
	r := h.removals()["sys-hook"]
	if r.Method != "manual" || r.By != "olga" || !strings.Contains(r.Fallback, "404") {
		t.Errorf("evidence %+v", r)
	}
}

// Webhook {"status":"accepted"}: the removal waits for the POST to the
// signed callback URL; the callback confirms it. A tampered callback URL
// verifies as nothing (the portal answers 403 and records nothing).
func TestWebhookAcceptedThenCallback(t *testing.T) {
	h := newHarness(t)
	rc := &receiver{answers: []func(http.ResponseWriter){reply(202, `{"status":"accepted"}`)}}
	h.system("sys-hook", "webhook", "critical", rc.start(t))
	var answers []string
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateConnectorCallback, "cb-wrong", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { answers = append(answers, "rejected: "+err.Error()) }, OnComplete: func(any, error) {},
		}, CallbackRequest{SystemID: "sys-other", Status: "removed"})
		h.env.UpdateWorkflow(UpdateConnectorCallback, "cb", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { answers = append(answers, "rejected: "+err.Error()) },
			OnComplete: func(_ any, err error) { answers = append(answers, "recorded") },
		}, CallbackRequest{SystemID: "sys-hook", Status: "removed", BodySHA256: act.Digest([]byte(`{"status":"removed"}`))})
	}, endOfDay.Add(time.Hour).Sub(start))
	if _, err := h.run("mo"); err != nil {
		t.Fatal(err)
	}
	if len(answers) != 2 || !strings.Contains(answers[0], `"sys-other" is not part`) || answers[1] != "recorded" {
		t.Fatalf("answers %v", answers)
	}
	r := h.removals()["sys-hook"]
	if r.Method != "webhook" || r.Code == nil || *r.Code != 202 || !r.At.Equal(endOfDay.Add(time.Hour)) || r.Note != "confirmed on the callback URL" {
		t.Errorf("evidence %+v", r)
	}

	// The callback URL the webhook was given verifies to this system's
	// removal; the same URL with its token altered does not.
	token := strings.TrimPrefix(rc.got[0].CallbackURL, "https://comply.example.com/connector/callback/")
	claims, err := h.signer.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	if wf, sys, ok := act.ParseCallbackSubject(claims); !ok || wf != ID("lee") || sys != "sys-hook" {
		t.Errorf("callback names %s %s %v", wf, sys, ok)
	}
	forged := h.signer.Sign(links.Claims{Subject: act.CallbackSubject(ID("lee"), "sys-hook"), PersonID: "sys-hook", Expires: time.Now().Add(time.Hour)})
	tampered := forged[:len(forged)-2] + "AA"
	if err := DeliverCallback(t.Context(), nil, h.signer, tampered, []byte(`{"status":"removed"}`)); !errors.Is(err, ErrCallbackLink) {
		t.Errorf("tampered token: %v, want ErrCallbackLink", err)
	}
	other, _ := links.NewSigner([]links.Key{{Secret: []byte("someone-elses-key-0123456")}})
	if err := DeliverCallback(t.Context(), nil, h.signer, other.Sign(claims), []byte(`{"status":"removed"}`)); !errors.Is(err, ErrCallbackLink) {
		t.Errorf("token of another key: %v, want ErrCallbackLink", err)
	}
}

// Webhook accepted but never called back: at the deadline the owner gets
// the task, saying so.
func TestWebhookAcceptedWithoutCallbackFallsBack(t *testing.T) {
	h := newHarness(t)
	rc := &receiver{answers: []func(http.ResponseWriter){reply(200, `{"status":"accepted"}`)}}
	h.system("sys-hook", "webhook", "critical", rc.start(t))
	var got []string
	h.answer(endOfDay.Add(5*time.Hour), "sys-hook", "olga", humantask.ActionNoAccount, "", &got)
	if _, err := h.run("mo"); err != nil {
		t.Fatal(err)
	}
	r := h.removals()["sys-hook"]
	if r.Method != "manual" || r.Outcome != "no_account" || !strings.Contains(r.Fallback, "did not confirm it on its callback URL") || r.Met {
		t.Errorf("evidence %+v", r)
	}
}

// SCIM: the user is found by userName (the email) and PATCHed
// active=false with the bearer token from the environment.
func TestSCIMDeprovisions(t *testing.T) {
	h := newHarness(t)
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		switch r.Method {
		case http.MethodGet:
			io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[{"id":"u-17","userName":"lee@example.com"}]}`)
		case http.MethodPatch:
			io.WriteString(w, `{"id":"u-17","active":false}`)
		}
	}))
	t.Cleanup(srv.Close)
	h.system("sys-idp", "scim", "critical", srv.URL+"/scim/v2")
	if _, err := h.run("sam"); err != nil {
		t.Fatal(err)
	}
	want := []string{`GET /scim/v2/Users?filter=userName+eq+%22lee%40example.com%22 Bearer scim-secret`, `PATCH /scim/v2/Users/u-17 Bearer scim-secret`}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	r := h.removals()["sys-idp"]
	if r.Method != "scim" || r.Outcome != "removed" || r.By != "connector:sys-idp" || *r.Code != 200 || r.BodySHA != act.Digest([]byte(`{"id":"u-17","active":false}`)) {
		t.Errorf("evidence %+v", r)
	}
}
