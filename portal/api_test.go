package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/apitoken"
)

type apiPage struct {
	Records []struct {
		AuditID int64  `json:"audit_id"`
		Control string `json:"control"`
	} `json:"records"`
	Next string `json:"next"`
}

func (sp *signinPortal) token(t *testing.T, expires time.Time) apitoken.Issued {
	t.Helper()
	is, err := apitoken.Create(context.Background(), sp.db.App, "aud", expires, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func apiGet(t *testing.T, sp *signinPortal, path, token string) (int, apiPage) {
	t.Helper()
	resp, body := get(t, http.DefaultClient, sp.URL+path, "Authorization", "Bearer "+token)
	var p apiPage
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, body)
		}
	}
	return resp.StatusCode, p
}

// An API page is the portal's page: the same records, in order, and the
// same next position.
func TestAPIPageEqualsThePortalPage(t *testing.T) {
	sp := newAuditorPortal(t)
	is := sp.token(t, time.Now().Add(time.Hour))
	c := sp.signedIn(t, "aud")
	path := "/records?framework=soc2&control=CC5.3"
	for page := 0; path != ""; page++ {
		resp, body := get(t, c, sp.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("portal %s: %d", path, resp.StatusCode)
		}
		ids, next := pageIDs(body)
		code, api := apiGet(t, sp, strings.Replace(path, "/records", "/api/v1/records", 1), is.Token)
		if code != http.StatusOK || len(api.Records) != len(ids) {
			t.Fatalf("API page %d: %d, %d records, want %d", page, code, len(api.Records), len(ids))
		}
		for i, r := range api.Records {
			if strconv.FormatInt(r.AuditID, 10) != ids[i] || r.Control != "chg" {
				t.Fatalf("API page %d record %d: %+v, want audit id %s", page, i, r, ids[i])
			}
		}
		u, _ := url.Parse(next)
		if api.Next != u.Query().Get("after") {
			t.Fatalf("API page %d next %q, portal's %q", page, api.Next, next)
		}
		path = next
	}
	if n := sp.audited(t, "api.read_records", "/api/v1/records%"); n != 2 {
		t.Errorf("API reads audited %d times, want 2", n)
	}
}

// A forged, expired or revoked token is refused, as is a token after its
// auditor's window, and every non-GET of the API.
func TestAPIRefusesBadTokensAndWrites(t *testing.T) {
	sp := newAuditorPortal(t)
	ctx := context.Background()
	live := sp.token(t, time.Now().Add(time.Hour))
	if code, _ := apiGet(t, sp, "/api/v1/records", live.Token); code != http.StatusOK {
		t.Fatalf("a live token: %d", code)
	}
	if code, _ := apiGet(t, sp, "/api/v1/records", live.Token+"x"); code != http.StatusUnauthorized {
		t.Errorf("a forged token: %d, want 401", code)
	}
	if code, _ := apiGet(t, sp, "/api/v1/records", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	expired := sp.token(t, time.Now().Add(time.Hour))
	sp.db.Owner.MustExec(`UPDATE api_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE id = $1`, expired.ID)
	if code, _ := apiGet(t, sp, "/api/v1/records", expired.Token); code != http.StatusUnauthorized {
		t.Errorf("an expired token: %d, want 401", code)
	}
	revoked := sp.token(t, time.Now().Add(time.Hour))
	if err := apitoken.Revoke(ctx, sp.db.App, revoked.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if code, _ := apiGet(t, sp, "/api/v1/records", revoked.Token); code != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d, want 401", code)
	}
	if err := apitoken.Revoke(ctx, sp.db.App, revoked.ID, "admin"); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Errorf("a second revocation: %v", err)
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(method, sp.URL+"/api/v1/records", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+live.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /api/v1/records: %d, want 405", method, resp.StatusCode)
		}
	}
	if n := sp.audited(t, "api.refused", "%/api/v1/records"); n != 7 {
		t.Errorf("API refusals audited %d times, want 7", n)
	}
	// The auditor's period clamps a token's queries too.
	last := time.Now().UTC().Year() - 1
	sp.db.Owner.MustExec(`UPDATE accounts SET audit_from = $1, audit_to = $2 WHERE person_id = 'aud'`,
		strconv.Itoa(last)+"-01-01", strconv.Itoa(last)+"-12-31")
	if code, _ := apiGet(t, sp, "/api/v1/records?year="+strconv.Itoa(last+1), live.Token); code != http.StatusForbidden {
		t.Errorf("a token outside the audit period: %d, want 403", code)
	}
	// After the account's window the token is refused.
	sp.db.Owner.MustExec(`UPDATE accounts SET valid_from = now() - interval '2 days', valid_until = now() - interval '1 second' WHERE person_id = 'aud'`)
	if code, _ := apiGet(t, sp, "/api/v1/records", live.Token); code != http.StatusUnauthorized {
		t.Errorf("a token after its auditor's window: %d, want 401", code)
	}
}

// Only an auditor's account gets a token, and never past the account's end.
func TestAPITokenCreateRefusesBadInput(t *testing.T) {
	sp := newAuditorPortal(t)
	ctx := context.Background()
	for _, c := range []struct {
		person  string
		expires time.Time
		want    string
	}{
		{"sam", time.Now().Add(time.Hour), "for auditors"},
		{"nobody", time.Now().Add(time.Hour), "no account"},
		{"aud", time.Now().Add(-time.Hour), "already past"},
		{"aud", time.Now().AddDate(1, 0, 0), "never outlives its account"},
	} {
		if _, err := apitoken.Create(ctx, sp.db.App, c.person, c.expires, "admin"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("token for %s until %s: %v, want %q", c.person, c.expires, err, c.want)
		}
	}
	var n int
	sp.db.Owner.Get(&n, `SELECT count(*) FROM api_tokens`)
	if n != 0 {
		t.Errorf("%d tokens stored after refusals", n)
	}
}
