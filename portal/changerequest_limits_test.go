package main_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
)

func changeRequestPeople(t *testing.T) *testenv.DB {
	t.Helper()
	db := testenv.Postgres(t)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'), ('eve', 'eve@example.com', 'Eve Employee'),
			('nat', '', 'Nat No-Mail'), ('cleo', 'cleo@example.com', 'Cleo CEO');
		INSERT INTO people (id, email, name, end_date) VALUES ('lee', 'lee@example.com', 'Lee Left', '2020-01-01');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam'), ('ceo', 'cleo');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES ('access', 'Access Control Policy', 'sam', 'policies/access.md', '2023-01-10');`)
	return db
}

func request(requester string) url.Values {
	return url.Values{"requester": {requester}, "policy": {"access"}, "kind": {"minor"}, "summary": {"fix a typo"}}
}

// TestChangeRequestSameAnswerForEveryID: the form tells nobody which person
// IDs exist, have left, have no email, or may not ask; only the person named
// learns anything, by email.
func TestChangeRequestSameAnswerForEveryID(t *testing.T) {
	db := changeRequestPeople(t)
	p := newChangeRequestPortal(t, db.App, nil)
	pages := map[string]string{}
	for _, id := range []string{"eve", "ghost", "lee", "nat", "sam"} {
		code, page := send(t, http.MethodPost, p.URL+"/change-requests/new", request(id))
		if code != http.StatusAccepted {
			t.Fatalf("%s: %d\n%s", id, code, page)
		}
		pages[id] = strings.ReplaceAll(page, id, "ID")
	}
	for id, page := range pages {
		if page != pages["eve"] {
			t.Errorf("the page for %s differs from the page for a known person:\n%s\n---\n%s", id, page, pages["eve"])
		}
	}
	if !strings.Contains(pages["eve"], "we have sent a confirmation") {
		t.Errorf("page:\n%s", pages["eve"])
	}
	var drafts []string
	db.App.Select(&drafts, `SELECT requester_id FROM change_request_drafts ORDER BY 1`)
	if strings.Join(drafts, ",") != "eve,sam" {
		t.Errorf("drafts for %v, want eve and sam", drafts)
	}
	// The sole officer learns from the link in their email why they may not ask.
	if code, page := send(t, http.MethodGet, p.confirmLink(t, "sam@example.com"), nil); code != http.StatusConflict || !strings.Contains(page, "only the requester") {
		t.Errorf("sole officer's confirmation page: %d\n%s", code, page)
	}
	p.confirmLink(t, "eve@example.com")
	if n := len(p.sink.Messages()); n != 2 {
		t.Errorf("%d emails, want 2 (eve, sam)", n)
	}
}

func TestChangeRequestFieldCaps(t *testing.T) {
	db := changeRequestPeople(t)
	p := newChangeRequestPortal(t, db.App, nil)
	for _, c := range []struct{ field, value, want string }{
		{"summary", strings.Repeat("s", 1001), "Summary is 1001 characters long; at most 1000"},
		{"text", strings.Repeat("é", 100_001), "Proposed text is 100001 characters long; at most 100000"},
		{"reference", strings.Repeat("r", 2001), "Reference is 2001 characters long; at most 2000"},
		{"requester", strings.Repeat("x", 65), "Your person ID is 65 characters long; at most 64"},
	} {
		form := request("eve")
		form.Set(c.field, c.value)
		if code, page := send(t, http.MethodPost, p.URL+"/change-requests/new", form); code != http.StatusUnprocessableEntity || !strings.Contains(page, c.want) {
			t.Errorf("%s too long: %d, page lacks %q", c.field, code, c.want)
		}
	}
	var drafts int
	db.App.Get(&drafts, `SELECT count(*) FROM change_request_drafts`)
	if drafts != 0 {
		t.Errorf("%d drafts stored from refused forms", drafts)
	}
}

// TestBodiesAreCapped: a body over 1 MiB is refused whether it says its
// length or not, on every POST, before anything is stored.
func TestBodiesAreCapped(t *testing.T) {
	db := changeRequestPeople(t)
	p := newChangeRequestPortal(t, db.App, nil)
	big := request("eve")
	big.Set("text", strings.Repeat("x", 2<<20))
	body := big.Encode()
	post := func(path string, chunked bool) int {
		t.Helper()
		var r io.Reader = strings.NewReader(body)
		if chunked {
			r = io.MultiReader(r) // no length known: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, p.URL+path, r)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The confirmation's POST reads no body: only a stated length is refused there.
	for _, path := range []string{"/change-requests/new", "/t/some-token", "/change-requests/confirm/some-token", "/slack/interactions"} {
		for _, chunked := range []bool{false, true} {
			if chunked && strings.HasPrefix(path, "/change-requests/confirm/") {
				continue
			}
			if code := post(path, chunked); code != http.StatusRequestEntityTooLarge {
				t.Errorf("POST %s (chunked %v) of %d bytes: %d, want 413", path, chunked, len(body), code)
			}
		}
	}
	var drafts int
	db.App.Get(&drafts, `SELECT count(*) FROM change_request_drafts`)
	if drafts != 0 {
		t.Errorf("%d drafts stored from oversized bodies", drafts)
	}
	// Just under the cap with the text at its cap is fine.
	ok := request("eve")
	ok.Set("text", strings.Repeat("x", 100_000))
	if code, page := send(t, http.MethodPost, p.URL+"/change-requests/new", ok); code != http.StatusAccepted {
		t.Errorf("a request at the field caps: %d\n%s", code, page)
	}
}

func TestChangeRequestRateLimits(t *testing.T) {
	db := changeRequestPeople(t)
	t.Run("per requester", func(t *testing.T) {
		p := newChangeRequestPortal(t, db.App, nil)
		for i := range 5 {
			if code, page := send(t, http.MethodPost, p.URL+"/change-requests/new", request("ghost")); code != http.StatusAccepted {
				t.Fatalf("request %d: %d\n%s", i+1, code, page)
			}
		}
		resp, err := http.PostForm(p.URL+"/change-requests/new", request("ghost"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(string(b), "naming this person ID (the limit is 5 at once, then one every 10m0s)") {
			t.Fatalf("sixth request naming ghost: %d Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
		// Known or not, the same limit: eve has her own budget.
		if code, page := send(t, http.MethodPost, p.URL+"/change-requests/new", request("eve")); code != http.StatusAccepted {
			t.Fatalf("another ID: %d\n%s", code, page)
		}
	})
	t.Run("per address", func(t *testing.T) {
		p := newChangeRequestPortal(t, db.App, nil)
		for i := range 20 {
			if code, page := send(t, http.MethodPost, p.URL+"/change-requests/new", request("ghost-"+string(rune('a'+i)))); code != http.StatusAccepted {
				t.Fatalf("request %d: %d\n%s", i+1, code, page)
			}
		}
		code, page := send(t, http.MethodPost, p.URL+"/change-requests/new", request("ghost-z"))
		if code != http.StatusTooManyRequests || !strings.Contains(page, "from your address (the limit is 20 at once, then one every 1m0s)") {
			t.Fatalf("21st request from one address: %d\n%s", code, page)
		}
	})
}

// TestExpiredDraftIsRefused: a draft left unconfirmed for longer than its
// time to live starts nothing, and says so.
func TestExpiredDraftIsRefused(t *testing.T) {
	db := changeRequestPeople(t)
	p := newChangeRequestPortal(t, db.App, nil)
	if code, page := send(t, http.MethodPost, p.URL+"/change-requests/new", request("eve")); code != http.StatusAccepted {
		t.Fatalf("submit: %d\n%s", code, page)
	}
	link := p.confirmLink(t, "eve@example.com")
	db.Owner.MustExec(`UPDATE change_request_drafts SET created_at = now() - interval '8 days'`)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		// With Temporal nil, a confirmation that went past the expiry check would panic.
		code, page := send(t, method, link, nil)
		if code != http.StatusGone || !strings.Contains(page, "not confirmed within 7 days") || !strings.Contains(page, "has expired") {
			t.Errorf("%s of an expired draft's link: %d\n%s", method, code, page)
		}
	}
	var unconfirmed int
	db.App.Get(&unconfirmed, `SELECT count(*) FROM change_request_drafts WHERE request_id IS NULL`)
	if unconfirmed != 1 {
		t.Errorf("%d unconfirmed drafts, want the expired one left unconfirmed", unconfirmed)
	}
	// A day short of the limit, it is still open.
	db.Owner.MustExec(`UPDATE change_request_drafts SET created_at = now() - interval '6 days'`)
	if code, page := send(t, http.MethodGet, link, nil); code != http.StatusOK {
		t.Errorf("GET of a 6-day-old draft's link: %d\n%s", code, page)
	}
}
