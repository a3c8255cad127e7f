package main_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
)

// signingSystem is a portal on a real HTTP server over a test database
// seeded with testenv.SeedCampaignProgram. The signing pages need no
// Temporal: signatures go straight to Postgres.
type signingSystem struct {
	db     *testenv.DB
	signer *links.Signer
	url    string
}

func newSigningSystem(t testing.TB) *signingSystem {
	t.Helper()
	db := testenv.Postgres(t)
	testenv.SeedCampaignProgram(t, db)
	keys := []links.Key{{Secret: []byte("portal-test-link-key-0123456789")}}
	signer, err := links.NewSigner(keys)
	if err != nil {
		t.Fatal(err)
	}
	srv := &portal.Server{Config: config.Config{LinkSigningKeys: keys}, DB: db.App,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	h := srv.Handler()
	t.Cleanup(srv.Signatures.Close) // after the server below is closed
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &signingSystem{db: db, signer: signer, url: ts.URL}
}

// link is the signed link a campaign's email (channel portal) or Slack DM
// (channel slack) carries for person.
func (s *signingSystem) link(campaignID, channel, person string) string {
	return s.url + "/a/" + s.signer.Sign(links.Claims{Subject: campaign.AssignmentSubject(campaignID, channel), PersonID: person,
		Expires: time.Now().Add(time.Hour)})
}

// counts is every row a signature could write or change.
func (s *signingSystem) counts(t testing.TB) string {
	t.Helper()
	var c string
	if err := s.db.App.Get(&c, `SELECT format('%s acknowledgements, %s completions, %s audit rows, %s completed',
		(SELECT count(*) FROM acknowledgements), (SELECT count(*) FROM training_completions), (SELECT count(*) FROM audit_log),
		(SELECT count(*) FROM assignments WHERE status = 'completed'))`); err != nil {
		t.Fatal(err)
	}
	return c
}

const nothingRecorded = "0 acknowledgements, 0 completions, 0 audit rows, 0 completed"

func visit(t testing.TB, client *http.Client, method, u string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (portal test)")
	req.Header.Set("X-Forwarded-For", "203.0.113.99") // not believed: the portal trusts no proxy
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, html.UnescapeString(string(b))
}

var accept = url.Values{"accept": {"yes"}}

// postAccept clicks "I have read and accept" on u, from any goroutine.
func postAccept(client *http.Client, u string) (int, error) {
	resp, err := client.PostForm(u, accept)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// GET shows each policy (title, version, its text or a link to it) and the
// button, and records nothing, however often it is fetched.
func TestSigningPageShowsPoliciesAndChangesNothing(t *testing.T) {
	s := newSigningSystem(t)
	testenv.SeedAcknowledgementCampaign(t, s.db, "ack-1", "eve")
	u := s.link("ack-1", campaign.ChannelPortal, "eve")
	for range 2 {
		code, body := visit(t, http.DefaultClient, http.MethodGet, u, nil)
		for _, want := range []string{"Annual policy acknowledgement", "For Eve Employee", "Code of Conduct", "Version 2025.1",
			"Report a security incident to security@example.com at once.", "Acceptable Use Policy", "Version 2024.1",
			`<a href="https://intranet.example.com/aup.pdf">`, "I have read and accept"} {
			if code != http.StatusOK || !strings.Contains(body, want) {
				t.Fatalf("GET: %d, page lacks %q:\n%s", code, want, body)
			}
		}
	}
	if c := s.counts(t); c != nothingRecorded {
		t.Errorf("after two GETs: %s", c)
	}
}

// POST records one acknowledgement per policy with the campaign's version
// and text hash, the link's channel, the connection's address (not
// X-Forwarded-For), the user agent and a seal that verifies, plus an audit
// entry per control; a second POST records nothing new and says when the
// first was (issue 11 items 8 and 9).
func TestAcknowledgePOSTRecordsOnceWithProof(t *testing.T) {
	s := newSigningSystem(t)
	testenv.SeedAcknowledgementCampaign(t, s.db, "ack-1", "eve")
	u := s.link("ack-1", campaign.ChannelSlack, "eve")
	code, body := visit(t, http.DefaultClient, http.MethodPost, u, accept)
	if code != http.StatusOK || !strings.Contains(body, "Your acceptance of aup 2024.1, conduct 2025.1 was recorded at") {
		t.Fatalf("POST: %d\n%s", code, body)
	}
	acks, err := campaign.ListAcknowledgements(context.Background(), s.db.App, campaign.AcknowledgementFilter{CampaignID: "ack-1"})
	if err != nil || len(acks) != 2 {
		t.Fatalf("acknowledgements %+v, %v", acks, err)
	}
	var hashes map[string]string = map[string]string{}
	rows, _ := s.db.App.Query(`SELECT policy_id, version || ' ' || content_sha256 FROM policy_versions`)
	for rows.Next() {
		var p, v string
		rows.Scan(&p, &v)
		hashes[p] = v
	}
	rows.Close()
	for _, a := range acks {
		if a.PersonID != "eve" || a.Email != "eve@example.com" || hashes[a.PolicyID] != a.Version+" "+a.TextSHA256 || a.Channel != "slack" ||
			a.ClientAddr != "127.0.0.1" || a.UserAgent != "Mozilla/5.0 (portal test)" || !a.SealVerifies() {
			t.Errorf("acknowledgement %+v (seal verifies %v), want the version in force %q", a, a.SealVerifies(), hashes[a.PolicyID])
		}
	}
	var audited []string
	s.db.App.Select(&audited, `SELECT action || ' ' || actor || ' ' || subject || ' ' || control_id || ' ' || (detail->'policies'->0->>'seal')
		FROM audit_log ORDER BY id`)
	if len(audited) != 2 || audited[0] != "policy.acknowledged eve ack-1 pa "+acks[0].Seal || audited[1] != "policy.acknowledged eve ack-1 sat "+acks[0].Seal {
		t.Errorf("audit rows %q, want one per control naming the seal %s", audited, acks[0].Seal)
	}
	after := s.counts(t)

	code, body = visit(t, http.DefaultClient, http.MethodPost, s.link("ack-1", campaign.ChannelPortal, "eve"), accept)
	if code != http.StatusOK || !strings.Contains(body, "Already accepted on "+acks[0].At.UTC().Format("Mon 2 Jan 2006 15:04 UTC")) {
		t.Errorf("second POST: %d\n%s", code, body)
	}
	if c := s.counts(t); c != after {
		t.Errorf("the second POST changed %s to %s", after, c)
	}
	if _, body := visit(t, http.DefaultClient, http.MethodGet, u, nil); !strings.Contains(body, "Done:") || strings.Contains(body, "I have read and accept") {
		t.Errorf("GET after signing offers to sign again:\n%s", body)
	}
}

// A link acts only for the person it was made for: a form naming someone
// else signs for the link's person, and a link for someone without an
// assignment records nothing.
func TestSigningLinkActsOnlyForItsPerson(t *testing.T) {
	s := newSigningSystem(t)
	testenv.SeedAcknowledgementCampaign(t, s.db, "ack-1", "eve", "sam")
	form := url.Values{"accept": {"yes"}, "person": {"sam"}, "person_id": {"sam"}}
	if code, _ := visit(t, http.DefaultClient, http.MethodPost, s.link("ack-1", campaign.ChannelPortal, "eve"), form); code != http.StatusOK {
		t.Fatalf("POST: %d", code)
	}
	var signed []string
	s.db.App.Select(&signed, `SELECT DISTINCT person_id FROM acknowledgements UNION ALL SELECT person_id FROM assignments WHERE status = 'completed'`)
	if len(signed) != 2 || signed[0] != "eve" || signed[1] != "eve" {
		t.Errorf("signed and completed: %v, want eve only", signed)
	}
	before := s.counts(t)
	code, body := visit(t, http.DefaultClient, http.MethodPost, s.link("ack-1", campaign.ChannelPortal, "coby"), accept)
	if code != http.StatusForbidden || !strings.Contains(body, "coby is not asked to sign in campaign ack-1") {
		t.Errorf("a link for someone unassigned: %d\n%s", code, body)
	}
	if c := s.counts(t); c != before {
		t.Errorf("an unassigned person's POST changed %s to %s", before, c)
	}
}

// A forged, tampered, expired or task link gets 403 on GET and POST, and
// nothing is recorded (issue 11 item 11).
func TestSigningBadLinksRefused(t *testing.T) {
	s := newSigningSystem(t)
	testenv.SeedAcknowledgementCampaign(t, s.db, "ack-1", "eve", "sam")
	good := s.signer.Sign(links.Claims{Subject: campaign.AssignmentSubject("ack-1", "portal"), PersonID: "eve", Expires: time.Now().Add(time.Hour)})
	payload, mac, _ := strings.Cut(good, ".")
	forSam := s.signer.Sign(links.Claims{Subject: campaign.AssignmentSubject("ack-1", "portal"), PersonID: "sam", Expires: time.Now().Add(time.Hour)})
	samPayload, _, _ := strings.Cut(forSam, ".")
	other, _ := links.NewSigner([]links.Key{{Secret: []byte("not-the-portal-key-0123456789")}})
	for name, token := range map[string]string{
		"tampered":   samPayload + "." + mac, // eve's signature on sam's claims
		"truncated":  payload + "." + mac[:len(mac)-2],
		"forged":     other.Sign(links.Claims{Subject: campaign.AssignmentSubject("ack-1", "portal"), PersonID: "eve", Expires: time.Now().Add(time.Hour)}),
		"expired":    s.signer.Sign(links.Claims{Subject: campaign.AssignmentSubject("ack-1", "portal"), PersonID: "eve", Expires: time.Now().Add(-time.Second)}),
		"a task's":   s.signer.Sign(links.Claims{Subject: "task/ack-1", PersonID: "eve", Expires: time.Now().Add(time.Hour)}),
		"a channel?": s.signer.Sign(links.Claims{Subject: "assignment/fax/ack-1", PersonID: "eve", Expires: time.Now().Add(time.Hour)}),
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			code, body := visit(t, http.DefaultClient, method, s.url+"/a/"+token, accept)
			if code != http.StatusForbidden || !strings.Contains(body, "This link is not valid") {
				t.Errorf("%s link, %s: %d\n%s", name, method, code, body)
			}
		}
	}
	if c := s.counts(t); c != nothingRecorded {
		t.Errorf("after bad links: %s", c)
	}
}

// A person whose end date has passed is refused: the page says so and
// offers nothing, and a POST records nothing (issue 11 item 7).
func TestSigningLeaverRefused(t *testing.T) {
	s := newSigningSystem(t)
	testenv.SeedAcknowledgementCampaign(t, s.db, "ack-1", "lee")
	u := s.link("ack-1", campaign.ChannelPortal, "lee")
	code, body := visit(t, http.DefaultClient, http.MethodGet, u, nil)
	if code != http.StatusOK || !strings.Contains(body, "You have left (end date 1 Jan 2020 in the directory)") || strings.Contains(body, "I have read and accept") {
		t.Errorf("GET for a leaver: %d\n%s", code, body)
	}
	code, body = visit(t, http.DefaultClient, http.MethodPost, u, accept)
	if code != http.StatusForbidden || !strings.Contains(body, "lee has left (end date 1 Jan 2020 in the directory) and may no longer sign") {
		t.Errorf("POST for a leaver: %d\n%s", code, body)
	}
	if c := s.counts(t); c != nothingRecorded {
		t.Errorf("after a leaver's POST: %s", c)
	}
}

// The training page shows the content and the quiz; answers under the pass
// mark record nothing and say the score and the pass mark; at the pass mark
// the completion is recorded with the score.
func TestTrainingPOSTNeedsThePassMark(t *testing.T) {
	s := newSigningSystem(t)
	testenv.SeedTrainingCampaign(t, s.db, "tr-1", "eve")
	u := s.link("tr-1", campaign.ChannelPortal, "eve")
	code, body := visit(t, http.DefaultClient, http.MethodGet, u, nil)
	for _, want := range []string{"Security awareness 2025", "Phishing: never give your password to anyone.", "2 of 3 answered right",
		"1. Someone you do not know asks for your password by phone. You", `name="q2" value="2"> hand it to security`, "Submit my answers"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("training page: %d, lacks %q:\n%s", code, want, body)
		}
	}
	var sha string
	s.db.App.Get(&sha, `SELECT content_sha256 FROM trainings WHERE id = 'awareness'`)
	answer := func(q0, q1, q2 string) url.Values {
		return url.Values{"accept": {"yes"}, "content_sha256": {sha}, "q0": {q0}, "q1": {q1}, "q2": {q2}}
	}
	code, body = visit(t, http.DefaultClient, http.MethodPost, u, answer("1", "1", "0"))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "1 of 3 right; 2 are needed. Nothing was recorded.") || !strings.Contains(body, "Try again") {
		t.Errorf("one right: %d\n%s", code, body)
	}
	if c := s.counts(t); c != nothingRecorded {
		t.Errorf("under the pass mark: %s", c)
	}
	code, body = visit(t, http.DefaultClient, http.MethodPost, u, answer("1", "0", "1"))
	if code != http.StatusOK || !strings.Contains(body, "You passed with 2 of 3 right") {
		t.Errorf("two right: %d\n%s", code, body)
	}
	cs, err := campaign.ListTrainingCompletions(context.Background(), s.db.App, campaign.TrainingFilter{CampaignID: "tr-1"})
	if err != nil || len(cs) != 1 || cs[0].Score != 2 || cs[0].OutOf != 3 || cs[0].PersonID != "eve" || !cs[0].SealVerifies() {
		t.Errorf("completions %+v, %v", cs, err)
	}
	if c := s.counts(t); c != "0 acknowledgements, 1 completions, 1 audit rows, 1 completed" {
		t.Errorf("after passing: %s", c)
	}
	if code, body := visit(t, http.DefaultClient, http.MethodPost, u, url.Values{"accept": {"yes"}, "q0": {"first"}}); code != http.StatusBadRequest {
		t.Errorf("a malformed answer: %d\n%s", code, body)
	}
}

// 32 clients POSTing over HTTP for 300 people, each twice: exactly one
// record per person and policy, and the audit chain verifies.
func TestAcknowledgePOSTConcurrentOnce(t *testing.T) {
	s := newSigningSystem(t)
	const people = 300
	s.db.Owner.MustExec(`INSERT INTO people (id, email, name) SELECT 'p' || i, 'p' || i || '@example.com', 'Person ' || i FROM generate_series(1, $1) i`, people)
	ids := make([]string, people)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%d", i+1)
	}
	testenv.SeedAcknowledgementCampaign(t, s.db, "ack-many", ids...)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	work := make(chan string)
	go func() {
		for _, id := range ids {
			work <- id
			work <- id
		}
		close(work)
	}()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				code, err := postAccept(client, s.link("ack-many", campaign.ChannelPortal, id))
				mu.Lock()
				statuses[code]++
				if err != nil {
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if statuses[http.StatusOK] != 2*people {
		t.Errorf("statuses %v, want %d OK", statuses, 2*people)
	}
	var dup int
	s.db.App.Get(&dup, `SELECT count(*) FROM (SELECT 1 FROM acknowledgements GROUP BY person_id, policy_id HAVING count(*) > 1) d`)
	if c := s.counts(t); c != fmt.Sprintf("%d acknowledgements, 0 completions, %d audit rows, %d completed", 2*people, 2*people, people) || dup != 0 {
		t.Errorf("recorded %s (%d duplicated)", c, dup)
	}
	if res, err := audit.Verify(context.Background(), s.db.App, audit.Options{}); err != nil || res.Rows != 2*people {
		t.Errorf("chain: %d rows, %v", res.Rows, err)
	}
}
