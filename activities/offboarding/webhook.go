package offboarding

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/refusal"
)

// Connector answers, as ConnectorResult.Status spells them.
const (
	// ConnectorRemoved: the system confirmed the removal.
	ConnectorRemoved = "removed"
	// ConnectorNoAccount: the system has no account for the person (SCIM).
	ConnectorNoAccount = "no_account"
	// ConnectorAccepted: the system will confirm on the callback URL.
	ConnectorAccepted = "accepted"
	// ConnectorRefused: a 4xx or an answer that is not one of the above;
	// the removal falls back to a task to the owner, saying Reason.
	ConnectorRefused = "refused"
)

// ConnectorResult is a connector's answer. A 5xx or a network error is an
// error instead, retried with backoff.
type ConnectorResult struct {
	Status     string
	Code       int
	BodySHA256 string
	Reason     string
}

// SignatureHeader is the header a webhook body is signed in.
const SignatureHeader = "X-Complyflow-Signature"

// Signature is the SignatureHeader value for body sent at t:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> under key.
func Signature(key []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookEvent is the JSON body a webhook receives.
type WebhookEvent struct {
	Event       string        `json:"event"`
	Person      WebhookPerson `json:"person"`
	System      string        `json:"system"`
	LastDay     string        `json:"last_day"`
	CallbackURL string        `json:"callback_url"`
}

// WebhookPerson names the leaver in a WebhookEvent.
type WebhookPerson struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// CallbackPrefix starts a callback link's subject: the system's removal in
// one offboarding workflow, "connector-callback/<workflow ID>/<system>".
const CallbackPrefix = "connector-callback/"

// CallbackSubject is the signed subject of a system's callback link.
func CallbackSubject(workflowID, systemID string) string {
	return CallbackPrefix + workflowID + "/" + systemID
}

// ParseCallbackSubject answers the workflow and system a verified callback
// link names.
func ParseCallbackSubject(c links.Claims) (workflowID, systemID string, ok bool) {
	rest, found := strings.CutPrefix(c.Subject, CallbackPrefix)
	i := strings.LastIndex(rest, "/")
	if !found || i <= 0 || rest[i+1:] != c.PersonID {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// WebhookInput asks a system's webhook to remove the person.
type WebhookInput struct {
	WorkflowID string
	PersonID   string
	SystemID   string
	LastDay    string
}

// CallWebhook POSTs the signed access.remove event to the system's
// webhook_url. A 2xx {"status":"removed"} confirms, {"status":"accepted"}
// promises a POST to the callback URL; a 4xx, or a 2xx saying neither, is
// refused; a 5xx or a network error is an error, for the retry policy.
func (a *Activities) CallWebhook(ctx context.Context, in WebhookInput) (ConnectorResult, error) {
	if len(a.ConnectorKey) == 0 {
		return ConnectorResult{}, refusal.New("CONNECTOR_SIGNING_KEY is not set: webhooks cannot be signed")
	}
	var url string
	if err := a.DB.GetContext(ctx, &url, `SELECT webhook_url FROM systems WHERE id = $1 AND removal_method = 'webhook'`, in.SystemID); err != nil {
		return ConnectorResult{}, fmt.Errorf("webhook of %s: %w", in.SystemID, err)
	}
	p, err := directory.LookupPerson(ctx, a.DB, in.PersonID)
	if err != nil {
		return ConnectorResult{}, err
	}
	token := a.Links.Sign(links.Claims{Subject: CallbackSubject(in.WorkflowID, in.SystemID), PersonID: in.SystemID,
		Expires: time.Now().Add(a.LinkTTL)})
	body, err := json.Marshal(WebhookEvent{Event: "access.remove", Person: WebhookPerson{ID: p.ID, Email: p.Email, Name: p.Name},
		System: in.SystemID, LastDay: in.LastDay, CallbackURL: a.BaseURL + "/connector/callback/" + token})
	if err != nil {
		return ConnectorResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return ConnectorResult{}, refusal.New("webhook_url of %s: %v", in.SystemID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Signature(a.ConnectorKey, time.Now(), body))
	code, answer, err := a.do(req)
	if err != nil {
		return ConnectorResult{}, fmt.Errorf("webhook of %s: %w", in.SystemID, err)
	}
	res := ConnectorResult{Code: code, BodySHA256: Digest(answer)}
	if code >= 400 {
		res.Status, res.Reason = ConnectorRefused, fmt.Sprintf("the webhook answered %d: %s", code, excerpt(answer))
		return res, nil
	}
	var said struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(answer, &said) != nil {
		said.Status = "" // not JSON: neither answer
	}
	switch said.Status {
	case ConnectorRemoved, ConnectorAccepted:
		res.Status = said.Status
	default:
		res.Status, res.Reason = ConnectorRefused, fmt.Sprintf(`the webhook answered %d without {"status":"removed"} or {"status":"accepted"}: %s`,
			code, excerpt(answer))
	}
	return res, nil
}

// do sends req and reads at most 1 MiB of the answer; a 5xx is an error.
func (a *Activities) do(req *http.Request) (int, []byte, error) {
	c := a.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode >= 500 {
		return resp.StatusCode, body, fmt.Errorf("%s %s answered %d: %s", req.Method, req.URL.Redacted(), resp.StatusCode, excerpt(body))
	}
	return resp.StatusCode, body, nil
}

// Digest is the hex SHA-256 of b, as the evidence records a connector's answer.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// excerpt is the start of an answer, for a reason a person reads.
func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
