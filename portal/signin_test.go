package main_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
)

const testPassword = "Correct-Horse-42"

// signinPortal is a portal over the campaign program's database
// (testenv.SeedCampaignProgram) with these accounts: sam the officer (TOTP),
// mia a manager whose report is eve, eve and bob employees, aud an auditor
// (TOTP); eve and bob each have an open task.
type signinPortal struct {
	URL     string
	db      *testenv.DB
	signer  *links.Signer
	secrets map[string]string
}

func newSigninPortal(t *testing.T) *signinPortal { return newSigninPortalWith(t, nil) }

// newSigninPortalWith lets configure finish the Server once its URL is known.
func newSigninPortalWith(t *testing.T, configure func(s *portal.Server, baseURL string)) *signinPortal {
	t.Helper()
	db := testenv.Postgres(t)
	testenv.SeedCampaignProgram(t, db)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('mia', 'mia@example.com', 'Mia Manager'), ('bob', 'bob@example.com', 'Bob Builder'),
			('aud', 'aud@example.com', 'Aud Itor');
		UPDATE people SET manager_id = 'mia' WHERE id = 'eve';
		INSERT INTO tasks (id, assignee_id, subject, actions, due_at) VALUES
			('task/eve-1', 'eve', 'Confirm the removal of Eve''s thing', '{done}', now() + interval '3 days'),
			('task/bob-1', 'bob', 'Review Bob''s vendor', '{done}', now() + interval '3 days');`)
	ctx := context.Background()
	sp := &signinPortal{db: db, secrets: map[string]string{}}
	until := time.Now().Add(24 * time.Hour)
	for _, a := range []accounts.New{{PersonID: "sam", Role: "officer"}, {PersonID: "mia", Role: "manager"}, {PersonID: "eve", Role: "employee"},
		{PersonID: "bob", Role: "employee"}, {PersonID: "aud", Role: "auditor", ValidUntil: &until}} {
		a.By = "test"
		secret := ""
		if accounts.RequiresMFA(a.Role) {
			key, err := accounts.NewTOTPSecret(a.PersonID + "@example.com")
			if err != nil {
				t.Fatal(err)
			}
			secret = key.Secret()
			sp.secrets[a.PersonID] = secret
		}
		if err := accounts.Provision(ctx, db.App, a, testPassword, secret); err != nil {
			t.Fatal(err)
		}
	}
	keys := []links.Key{{Secret: []byte("portal-test-link-key-0123456789")}}
	var err error
	if sp.signer, err = links.NewSigner(keys); err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	server := &portal.Server{Config: config.Config{LinkSigningKeys: keys, PortalBaseURL: srv.URL, LinkTTL: time.Hour}, DB: db.App, Scoped: db.Portal,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if configure != nil {
		configure(server, srv.URL)
	}
	handler = server.Handler()
	t.Cleanup(server.Signatures.Close)
	sp.URL = srv.URL
	return sp
}

// browser is a client with a cookie jar that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (sp *signinPortal) signIn(t *testing.T, c *http.Client, person, code string) (int, string) {
	t.Helper()
	return submit(t, c, sp.URL+"/signin", url.Values{"email": {person + "@example.com"}, "password": {testPassword}, "code": {code}, "next": {"/"}})
}

func (sp *signinPortal) code(t *testing.T, person string, at time.Time) string {
	c, err := accounts.TOTPCode(sp.secrets[person], at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func submit(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func getPage(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (sp *signinPortal) audited(t *testing.T, action, subjectLike string) int {
	t.Helper()
	var n int
	if err := sp.db.Owner.Get(&n, `SELECT count(*) FROM audit_log WHERE action = $1 AND subject LIKE $2`, action, subjectLike); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSignInHomeShowsOnlyMyTasksAndSignOutEndsTheSession(t *testing.T) {
	sp := newSigninPortal(t)
	c := browser(t)
	if code, _ := getPage(t, c, sp.URL+"/"); code != http.StatusSeeOther {
		t.Fatalf("home without a sign-in: %d, want a redirect to /signin", code)
	}
	if code, body := submit(t, c, sp.URL+"/signin", url.Values{"email": {"eve@example.com"}, "password": {"Wrong-Horse-42"}}); code != http.StatusUnauthorized ||
		!strings.Contains(body, "Wrong email, password or authentication code") {
		t.Fatalf("wrong password: %d %s", code, body)
	}
	resp, err := c.PostForm(sp.URL+"/signin", url.Values{"email": {"eve@example.com"}, "password": {testPassword}, "next": {"//evil.example/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q, want 303 to / (never another site)", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure on loopback", cookie)
	}
	code, body := getPage(t, c, sp.URL+"/")
	if code != http.StatusOK || !strings.Contains(body, "Confirm the removal of Eve&#39;s thing") || strings.Contains(body, "Bob") {
		t.Fatalf("eve's home: %d\n%s\nwant her task and nothing of Bob's", code, body)
	}
	link := regexp.MustCompile(`href="(/t/[^"]+)"`).FindStringSubmatch(body)
	if link == nil {
		t.Fatalf("eve's home has no task link:\n%s", body)
	}
	if code, body := getPage(t, c, sp.URL+link[1]); code != http.StatusOK || !strings.Contains(body, "Eve&#39;s thing") {
		t.Fatalf("the task page from home: %d %s", code, body)
	}
	if code, _ := submit(t, c, sp.URL+"/signout", nil); code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", code)
	}
	// The cookie kept from before the sign-out no longer signs in.
	again := browser(t)
	u, _ := url.Parse(sp.URL)
	again.Jar.SetCookies(u, []*http.Cookie{cookie})
	if code, _ := getPage(t, again, sp.URL+"/"); code != http.StatusSeeOther {
		t.Fatalf("home with a signed-out session's cookie: %d, want a redirect to sign in", code)
	}
	if n := sp.audited(t, "signout", "eve"); n != 1 {
		t.Errorf("signout audited %d times, want 1", n)
	}
}

func TestOfficerNeedsAFreshTOTPCode(t *testing.T) {
	sp := newSigninPortal(t)
	c := browser(t)
	if code, _ := sp.signIn(t, c, "sam", ""); code != http.StatusUnauthorized {
		t.Fatalf("officer without a code: %d, want 401", code)
	}
	totp := sp.code(t, "sam", time.Now())
	if code, _ := sp.signIn(t, c, "sam", totp); code != http.StatusSeeOther {
		t.Fatalf("officer with a code: %d, want 303", code)
	}
	if code, _ := sp.signIn(t, browser(t), "sam", totp); code != http.StatusUnauthorized {
		t.Fatalf("officer replaying the code: %d, want 401", code)
	}
	if code, body := getPage(t, c, sp.URL+"/"); code != http.StatusOK || !strings.Contains(body, "Sam Officer") {
		t.Fatalf("officer's home: %d %s", code, body)
	}
	if n := sp.audited(t, "signin.failed", "sam@example.com"); n != 2 {
		t.Errorf("signin.failed audited %d times for sam, want 2 (no code, replayed code)", n)
	}
}

func TestAccountLocksAfterRepeatedFailures(t *testing.T) {
	sp := newSigninPortal(t)
	c := browser(t)
	for range accounts.MaxFailures {
		submit(t, c, sp.URL+"/signin", url.Values{"email": {"bob@example.com"}, "password": {"Wrong-Horse-42"}})
	}
	if code, body := sp.signIn(t, c, "bob", ""); code != http.StatusUnauthorized || !strings.Contains(body, "locked") {
		t.Fatalf("right password on a locked account: %d %s", code, body)
	}
	if n := sp.audited(t, "account.locked", "bob"); n != 1 {
		t.Errorf("account.locked audited %d times, want 1", n)
	}
}

func TestCrossSitePostIsRefusedAndAudited(t *testing.T) {
	sp := newSigninPortal(t)
	req, _ := http.NewRequest(http.MethodPost, sp.URL+"/signin", strings.NewReader("email=eve%40example.com&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if n := sp.audited(t, "portal.refused_cross_origin", "POST /signin"); n != 1 {
		t.Errorf("cross-site POST audited %d times, want 1", n)
	}
}

func TestAuditorPostingAnythingIsRefusedAndAudited(t *testing.T) {
	sp := newSigninPortal(t)
	c := browser(t)
	if code, _ := sp.signIn(t, c, "aud", sp.code(t, "aud", time.Now())); code != http.StatusSeeOther {
		t.Fatalf("auditor sign-in: %d", code)
	}
	if code, _ := getPage(t, c, sp.URL+"/policies"); code != http.StatusOK {
		t.Fatalf("auditor reading the policies: %d, want 200", code)
	}
	for _, path := range []string{"/change-requests/new", "/t/anything", "/signin"} {
		if code, _ := submit(t, c, sp.URL+path, url.Values{"summary": {"x"}}); code != http.StatusForbidden {
			t.Errorf("auditor POST %s: %d, want 403", path, code)
		}
		if n := sp.audited(t, "portal.refused", "POST "+path); n != 1 {
			t.Errorf("auditor POST %s audited %d times, want 1", path, n)
		}
	}
}

func TestManagerSeesOnlyTheirReports(t *testing.T) {
	sp := newSigninPortal(t)
	c := browser(t)
	if code, _ := sp.signIn(t, c, "mia", ""); code != http.StatusSeeOther {
		t.Fatalf("manager sign-in: %d", code)
	}
	code, body := getPage(t, c, sp.URL+"/")
	if code != http.StatusOK || !strings.Contains(body, `id="reports"`) || !strings.Contains(body, "Eve Employee") || strings.Contains(body, "Bob Builder") {
		t.Fatalf("manager's home: %d\n%s\nwant Eve (a report) and not Bob", code, body)
	}
}

func TestPoliciesPageShowsTheVersionInForceOnADate(t *testing.T) {
	sp := newSigninPortal(t)
	c := browser(t)
	sp.signIn(t, c, "eve", "")
	code, body := getPage(t, c, sp.URL+"/policies")
	if code != http.StatusOK || !strings.Contains(body, "Access Control Policy") || !strings.Contains(body, "2022.1") {
		t.Fatalf("policies: %d %s", code, body)
	}
	if code, body := getPage(t, c, sp.URL+"/policies?on=2021-12-31"); code != http.StatusOK || !strings.Contains(body, "No policy was in force then") {
		t.Fatalf("policies before the first version: %d %s", code, body)
	}
	if code, _ := getPage(t, c, sp.URL+"/policies?on=yesterday"); code != http.StatusBadRequest {
		t.Fatalf("policies on a bad date: %d, want 400", code)
	}
}

func TestInvitationLinkSetsPasswordAndTOTPOnce(t *testing.T) {
	sp := newSigninPortal(t)
	ctx := context.Background()
	sp.db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('ada', 'ada@example.com', 'Ada Admin')`)
	if err := accounts.Create(ctx, sp.db.App, accounts.New{PersonID: "ada", Role: "admin", By: "test"}); err != nil {
		t.Fatal(err)
	}
	link, _, err := accounts.IssueLink(ctx, sp.db.App, sp.signer, sp.URL, "ada", accounts.Invite, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	code, body := getPage(t, c, link)
	secret := regexp.MustCompile(`name="totp_secret" value="([A-Z2-7]+)"`).FindStringSubmatch(body)
	if code != http.StatusOK || secret == nil {
		t.Fatalf("invitation page: %d %s", code, body)
	}
	form := url.Values{"password": {"short"}, "password2": {"short"}, "totp_secret": {secret[1]}}
	if code, body := submit(t, c, link, form); code != http.StatusUnprocessableEntity || !strings.Contains(body, "at least 12 characters") {
		t.Fatalf("a short password: %d %s", code, body)
	}
	totp, _ := accounts.TOTPCode(secret[1], time.Now())
	form = url.Values{"password": {testPassword}, "password2": {testPassword}, "totp_secret": {secret[1]}, "code": {totp}}
	if code, body := submit(t, c, link, form); code != http.StatusOK || !strings.Contains(body, `id="recovery-codes"`) {
		t.Fatalf("complete the invitation: %d %s", code, body)
	}
	if code, _ := submit(t, c, link, form); code != http.StatusForbidden {
		t.Fatalf("the invitation used twice: %d, want 403", code)
	}
	sp.secrets["ada"] = secret[1]
	if code, _ := sp.signIn(t, c, "ada", sp.code(t, "ada", time.Now().Add(30*time.Second))); code != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password and code: %d", code)
	}
}

func TestSignedInEmployeeCannotOpenAnotherPersonsTaskPage(t *testing.T) {
	sp := newSigninPortal(t)
	bobs := sp.URL + "/t/" + sp.signer.Sign(links.Claims{Subject: "task/bob-1", PersonID: "bob", Expires: time.Now().Add(time.Hour)})
	if code, body := getPage(t, browser(t), bobs); code != http.StatusOK || !strings.Contains(body, "Bob&#39;s vendor") {
		t.Fatalf("bob's link without a sign-in: %d, want his task page (links work without sign-in)", code)
	}
	c := browser(t)
	sp.signIn(t, c, "eve", "")
	if code, body := getPage(t, c, bobs); code != http.StatusForbidden || strings.Contains(body, "Bob&#39;s vendor") {
		t.Fatalf("eve opening bob's task page: %d %s, want 403", code, body)
	}
	if code, _ := submit(t, c, bobs, url.Values{"action": {"done"}}); code != http.StatusForbidden {
		t.Fatalf("eve acting on bob's task: %d, want 403", code)
	}
	if n := sp.audited(t, "portal.refused", "% link for bob"); n != 2 {
		t.Errorf("eve's attempts on bob's task audited %d times, want 2", n)
	}
}
