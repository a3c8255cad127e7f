package offboarding

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
)

const key = "integration-connector-key-0123"

func activities(t *testing.T) (*Activities, *testenv.DB) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('olga', 'olga@example.com', 'Olga Owner'), ('lee', 'lee@example.com', 'Lee Leaver')`)
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("integration-link-key-0123")}})
	if err != nil {
		t.Fatal(err)
	}
	return &Activities{DB: db.App, ConnectorKey: []byte(key), Links: signer, BaseURL: "https://comply.example.com", LinkTTL: time.Hour,
		Getenv: func(n string) string {
			if n == "SCIM_TOKEN_X" {
				return "tok"
			}
			return ""
		}}, db
}

// A real receiver verifies the signature as a system would: HMAC-SHA256
// of "<t>.<body>" under the shared key, t recent; and reads the body.
func TestWebhookSignatureVerifiesAtTheReceiver(t *testing.T) {
	a, db := activities(t)
	var verified bool
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		parts := map[string]string{}
		for _, kv := range strings.Split(r.Header.Get("X-Complyflow-Signature"), ",") {
			k, v, _ := strings.Cut(kv, "=")
			parts[k] = v
		}
		ts, _ := strconv.ParseInt(parts["t"], 10, 64)
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(parts["t"] + "." + string(raw)))
		want := hex.EncodeToString(m.Sum(nil))
		verified = hmac.Equal([]byte(want), []byte(parts["v1"])) && time.Since(time.Unix(ts, 0)) < time.Minute
		json.Unmarshal(raw, &body)
		if !verified {
			w.WriteHeader(401)
			return
		}
		io.WriteString(w, `{"status":"removed"}`)
	}))
	defer srv.Close()
	db.Owner.MustExec(`INSERT INTO systems (id, name, owner_id, removal_method, webhook_url) VALUES ('sys-hook', 'Hook', 'olga', 'webhook', $1)`, srv.URL)
	res, err := a.CallWebhook(context.Background(), WebhookInput{WorkflowID: "offboarding/lee", PersonID: "lee", SystemID: "sys-hook", LastDay: "2026-12-18"})
	if err != nil || !verified || res.Status != ConnectorRemoved || res.Code != 200 {
		t.Fatalf("result %+v, %v; signature verified: %v", res, err, verified)
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	if len(body) != 5 || body["event"] != "access.remove" || body["system"] != "sys-hook" || body["last_day"] != "2026-12-18" ||
		body["person"].(map[string]any)["email"] != "lee@example.com" {
		t.Errorf("body %v (keys %v)", body, keys)
	}

	// The same body under another key does not verify at the receiver.
	a.ConnectorKey = []byte("a-different-key-0123456789")
	res, err = a.CallWebhook(context.Background(), WebhookInput{WorkflowID: "offboarding/lee", PersonID: "lee", SystemID: "sys-hook", LastDay: "2026-12-18"})
	if err != nil || verified || res.Status != ConnectorRefused || res.Code != 401 {
		t.Errorf("wrong key: %+v, %v", res, err)
	}
}

// A SCIM server in the test: no user by that userName is no_account; a 401
// is refused with the reason; a 500 is an error, for the retry policy; a
// missing token is refused without calling.
func TestSCIMAnswers(t *testing.T) {
	a, db := activities(t)
	status, list := 200, `{"totalResults":0,"Resources":[]}`
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, list)
	}))
	defer srv.Close()
	db.Owner.MustExec(`INSERT INTO systems (id, name, owner_id, removal_method, scim_base_url, scim_token_env) VALUES
		('sys-idp', 'IdP', 'olga', 'scim', $1, 'SCIM_TOKEN_X'), ('sys-notoken', 'IdP2', 'olga', 'scim', $1, 'SCIM_TOKEN_MISSING')`, srv.URL)
	in := SCIMInput{PersonID: "lee", SystemID: "sys-idp"}
	if res, err := a.SCIMDeprovision(context.Background(), in); err != nil || res.Status != ConnectorNoAccount {
		t.Errorf("no user: %+v, %v", res, err)
	}
	status, list = 403, `{"detail":"forbidden"}`
	if res, err := a.SCIMDeprovision(context.Background(), in); err != nil || res.Status != ConnectorRefused || !strings.Contains(res.Reason, "403") {
		t.Errorf("403: %+v, %v", res, err)
	}
	status = 500
	if _, err := a.SCIMDeprovision(context.Background(), in); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("500: %v, want an error to retry", err)
	}
	before := calls
	res, err := a.SCIMDeprovision(context.Background(), SCIMInput{PersonID: "lee", SystemID: "sys-notoken"})
	if err != nil || res.Status != ConnectorRefused || !strings.Contains(res.Reason, "SCIM_TOKEN_MISSING is not set") || calls != before {
		t.Errorf("missing token: %+v, %v, %d calls", res, err, calls-before)
	}
}
