package main_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/completion"
	"github.com/complyflow/complyflow/completion/pack"
	"github.com/complyflow/complyflow/evidence"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
)

// auditSeed is the Ed25519 seed the auditor portal signs packs with (hex).
const auditSeed = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// reportPDF is the evidence file an upload record names.
var reportPDF = []byte("%PDF-1.4\n% a vendor's SOC 2 report\n%%EOF\n")

// newAuditorPortal is the sign-in portal with controls chg (soc2 CC5.3) and
// rm (soc2 CC6.2), 130 records of chg and 3 of rm written now, and a
// vendor's report uploaded for rm; it signs packs with auditSeed.
func newAuditorPortal(t *testing.T) *signinPortal {
	t.Helper()
	sp := newSigninPortalWith(t, func(s *portal.Server, _ string) { s.Config.AuditSigningKey = auditSeed })
	sp.db.Owner.MustExec(`
		INSERT INTO controls (id, title) VALUES ('chg', 'Policy change management'), ('rm', 'Access removal');
		INSERT INTO framework_requirements (framework, ref) VALUES ('soc2', 'CC5.3'), ('soc2', 'CC6.2') ON CONFLICT DO NOTHING;
		INSERT INTO control_requirements (control_id, framework, ref) VALUES ('chg', 'soc2', 'CC5.3'), ('rm', 'soc2', 'CC6.2');`)
	var entries []audit.Entry
	for i := range 130 {
		entries = append(entries, audit.Entry{Actor: "sam", Action: "changerequest.reviewed", Subject: "cr-" + strconv.Itoa(i), Controls: []string{"chg"}})
	}
	for i := range 3 {
		entries = append(entries, audit.Entry{Actor: "sam", Action: "offboarding.access-removed", Subject: "offboarding/lee", Controls: []string{"rm"},
			Detail: map[string]int{"system": i}})
	}
	ctx := context.Background()
	if err := audit.WriteBatch(ctx, sp.db.App, entries); err != nil {
		t.Fatal(err)
	}
	f, err := evidence.Spool(bytes.NewReader(reportPDF), 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&evidence.Postgres{DB: sp.db.App}).Put(ctx, f, evidence.Upload{Subject: "vendor-review/acme/2026", Uploader: "vendor-contact:acme",
		Filename: "soc2.pdf", Controls: []string{"rm"}}); err != nil {
		t.Fatal(err)
	}
	return sp
}

func (sp *signinPortal) signedIn(t *testing.T, person string) *http.Client {
	t.Helper()
	c := browser(t)
	if code, body := sp.signIn(t, c, person, sp.code(t, person, time.Now())); code != http.StatusSeeOther {
		t.Fatalf("%s signs in: %d %s", person, code, body)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// query is every record of f, as completion reads it.
func query(t *testing.T, db *testenv.DB, f completion.Filter) []completion.Record {
	t.Helper()
	ctx := context.Background()
	s, err := completion.Resolve(ctx, db.App, f)
	if err != nil {
		t.Fatal(err)
	}
	var out []completion.Record
	if err := s.Each(ctx, db.App, 1000, func(r completion.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func thisYear() completion.Filter {
	y := time.Now().UTC().Year()
	return completion.Filter{From: time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)}
}

var auditIDs = regexp.MustCompile(`data-audit-id="(\d+)"`)

// pageIDs is the audit ids of a records page's rows, and its next link.
func pageIDs(body []byte) (ids []string, next string) {
	for _, m := range auditIDs.FindAllSubmatch(body, -1) {
		ids = append(ids, string(m[1]))
	}
	if m := regexp.MustCompile(`id="next" href="([^"]+)"`).FindSubmatch(body); m != nil {
		next = strings.ReplaceAll(string(m[1]), "&amp;", "&")
	}
	return ids, next
}

// The auditor filters SOC 2 CC5.3 for this year and pages through exactly
// the query's records; each page view is audited.
func TestAuditorPagesThroughTheQuerysRecords(t *testing.T) {
	sp := newAuditorPortal(t)
	c := sp.signedIn(t, "aud")
	_, home := get(t, c, sp.URL+"/")
	if !strings.Contains(string(home), `href="/records"`) {
		t.Fatalf("the auditor's home has no link to the records:\n%s", home)
	}
	f := thisYear()
	f.Framework, f.Requirement = "soc2", "CC5.3"
	want := query(t, sp.db, f)
	if len(want) != 130 {
		t.Fatalf("the query has %d records, want 130", len(want))
	}
	var got []string
	next := "/records?framework=soc2&control=CC5.3&year=" + strconv.Itoa(f.From.Year())
	pages := 0
	for next != "" {
		resp, body := get(t, c, sp.URL+next)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", next, resp.StatusCode, body)
		}
		var ids []string
		ids, next = pageIDs(body)
		if pages > 2 {
			t.Fatalf("page %d: next %q", pages, next)
		}
		got = append(got, ids...)
		pages++
	}
	if pages != 2 || len(got) != len(want) {
		t.Fatalf("%d pages of %d records, want 2 pages of %d", pages, len(got), len(want))
	}
	for i, r := range want {
		if got[i] != strconv.FormatInt(r.AuditID, 10) {
			t.Fatalf("record %d: audit id %s, want %d", i, got[i], r.AuditID)
		}
	}
	if n := sp.audited(t, "auditor.viewed_records", "/records?%"); n != 2 {
		t.Errorf("page views audited %d times, want 2", n)
	}
	if resp, body := get(t, c, sp.URL+"/records?framework=soc2&control=CC9.9"); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(string(body), "CC9.9") {
		t.Errorf("an unknown requirement: %d %s, want 400 naming it", resp.StatusCode, body)
	}
}

// An auditor limited to last year is refused this year's records, their
// detail, exports, pack and population (403, audited), and sees last year's.
func TestAuditorOutsideTheirPeriodIsRefused(t *testing.T) {
	sp := newAuditorPortal(t)
	last := time.Now().UTC().Year() - 1
	sp.db.Owner.MustExec(`UPDATE accounts SET audit_from = $1, audit_to = $2 WHERE person_id = 'aud'`,
		strconv.Itoa(last)+"-01-01", strconv.Itoa(last)+"-12-31")
	c := sp.signedIn(t, "aud")
	var id int64
	sp.db.Owner.Get(&id, `SELECT min(id) FROM audit_log WHERE control_id = 'chg'`)
	year := strconv.Itoa(last + 1)
	for _, path := range []string{"/records?year=" + year, "/records?from=" + strconv.Itoa(last) + "-06-01&to=" + year + "-02-01",
		"/records/export?format=csv&year=" + year, "/records/pack?year=" + year, "/records/population?process=offboarding&year=" + year,
		"/records/" + strconv.FormatInt(id, 10)} {
		if resp, body := get(t, c, sp.URL+path); resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "audit period") {
			t.Errorf("GET %s: %d %s, want 403", path, resp.StatusCode, body)
		}
	}
	var refused int
	sp.db.Owner.Get(&refused, `SELECT count(*) FROM audit_log WHERE action = 'portal.refused' AND actor = 'aud'
		AND detail->>'reason' = 'outside the audit period'`)
	if refused != 6 {
		t.Errorf("%d refusals audited, want 6", refused)
	}
	resp, body := get(t, c, sp.URL+"/records")
	if ids, _ := pageIDs(body); resp.StatusCode != http.StatusOK || len(ids) != 0 || !strings.Contains(string(body), "Your audit period") {
		t.Errorf("the auditor's own period: %d, %d records", resp.StatusCode, len(ids))
	}
	// An officer has no audit period.
	if resp, _ := get(t, sp.signedIn(t, "sam"), sp.URL+"/records?year="+year); resp.StatusCode != http.StatusOK {
		t.Errorf("an officer's records: %d", resp.StatusCode)
	}
	// An employee has no records page.
	e := browser(t)
	if code, _ := sp.signIn(t, e, "eve", ""); code != http.StatusSeeOther {
		t.Fatalf("eve signs in: %d", code)
	}
	if resp, _ := get(t, e, sp.URL+"/records"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an employee's records: %d, want 403", resp.StatusCode)
	}
}

// An auditor outside their account's window is signed out: their session
// ends and a new sign-in is refused.
func TestAuditorOutsideTheirWindowIsRefused(t *testing.T) {
	sp := newAuditorPortal(t)
	c := sp.signedIn(t, "aud")
	sp.db.Owner.MustExec(`UPDATE accounts SET valid_from = now() - interval '2 days', valid_until = now() - interval '1 second' WHERE person_id = 'aud'`)
	if resp, _ := get(t, c, sp.URL+"/records"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Errorf("a session after the window: %d %s, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _ := sp.signIn(t, browser(t), "aud", sp.code(t, "aud", time.Now().Add(30*time.Second))); code == http.StatusSeeOther {
		t.Error("a sign-in after the window was let in")
	}
}

// An auditor writes nothing: a POST to the records pages or the API is refused.
func TestAuditorCannotPost(t *testing.T) {
	sp := newAuditorPortal(t)
	c := sp.signedIn(t, "aud")
	for _, path := range []string{"/records", "/records/export", "/records/pack"} {
		if code, _ := submit(t, c, sp.URL+path, url.Values{"format": {"csv"}}); code != http.StatusForbidden {
			t.Errorf("auditor POST %s: %d, want 403", path, code)
		}
		if n := sp.audited(t, "portal.refused", "POST "+path); n != 1 {
			t.Errorf("auditor POST %s audited %d times, want 1", path, n)
		}
	}
}

// The CSV and XLSX downloads hold the query's rows.
func TestAuditorExportsEqualTheQuery(t *testing.T) {
	sp := newAuditorPortal(t)
	c := sp.signedIn(t, "aud")
	f := thisYear()
	f.Framework = "soc2"
	want := [][]string{completion.Columns}
	for _, r := range query(t, sp.db, f) {
		program := ""
		if r.ProgramVersion != nil {
			program = strconv.FormatInt(*r.ProgramVersion, 10)
		}
		want = append(want, []string{strconv.FormatInt(r.AuditID, 10), r.At.UTC().Format(time.RFC3339Nano), r.Control, r.Requirements, r.Actor,
			r.Action, r.Subject, r.Channel, r.PolicyVersions, program, r.ProgramHash, hex.EncodeToString(r.Hash), string(r.Detail)})
	}
	if len(want) != 1+130+3+1 {
		t.Fatalf("the query has %d rows", len(want))
	}
	resp, body := get(t, c, sp.URL+"/records/export?format=csv&framework=soc2")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV export: %d %s", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "CSV", rows, want, nil)

	resp, body = get(t, c, sp.URL+"/records/export?format=xlsx&framework=soc2")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("XLSX export: %d %s", resp.StatusCode, body)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err = x.GetRows(completion.SheetRecords, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	// The time is an Excel date there; the other columns are the CSV's.
	sameRows(t, "XLSX", rows, want, map[int]bool{1: true})
	if n := sp.audited(t, "auditor.exported_records", "/records/export%"); n != 2 {
		t.Errorf("exports audited %d times, want 2", n)
	}
}

func sameRows(t *testing.T, what string, got, want [][]string, skip map[int]bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range want {
		for j := range want[i] {
			if skip[j] && i > 0 {
				continue
			}
			if j >= len(got[i]) || got[i][j] != want[i][j] {
				t.Fatalf("%s row %d column %s: %q, want %q", what, i, completion.Columns[j], got[i], want[i])
			}
		}
	}
}

// The pack downloaded from the portal verifies, as `starter export verify` checks it.
func TestAuditorDownloadsAPackThatVerifies(t *testing.T) {
	sp := newAuditorPortal(t)
	c := sp.signedIn(t, "aud")
	resp, body := get(t, c, sp.URL+"/records/pack?framework=soc2&control=CC6.2")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("pack: %d %s", resp.StatusCode, resp.Header)
	}
	seed, _ := hex.DecodeString(auditSeed)
	rep, err := pack.Verify(bytes.NewReader(body), int64(len(body)), ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatalf("the pack does not verify: %v", err)
	}
	if rep.Manifest.Records != 4 {
		t.Errorf("the pack holds %d records, want 4 (3 removals and the upload)", rep.Manifest.Records)
	}
	found := false
	for _, f := range rep.Manifest.Files {
		found = found || strings.HasPrefix(f.Path, "evidence/") && f.Path != "evidence/index.csv"
	}
	if !found {
		t.Errorf("the pack has no evidence file: %+v", rep.Manifest.Files)
	}
	if n := sp.audited(t, "auditor.exported_pack", "/records/pack%"); n != 1 {
		t.Errorf("pack audited %d times, want 1", n)
	}
}

// A record's detail lists the evidence file its upload names, which downloads.
func TestAuditorOpensARecordAndItsEvidence(t *testing.T) {
	sp := newAuditorPortal(t)
	c := sp.signedIn(t, "aud")
	var id int64
	var sha string
	sp.db.Owner.Get(&id, `SELECT id FROM audit_log WHERE control_id = 'rm' AND detail ? 'sha256'`)
	sp.db.Owner.Get(&sha, `SELECT sha256 FROM evidence_files`)
	resp, body := get(t, c, sp.URL+"/records/"+strconv.FormatInt(id, 10))
	link := "/records/" + strconv.FormatInt(id, 10) + "/evidence/" + sha
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), link) || !strings.Contains(string(body), "soc2.pdf") {
		t.Fatalf("record detail: %d\n%s", resp.StatusCode, body)
	}
	resp, file := get(t, c, sp.URL+link)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(file, reportPDF) || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("evidence download: %d %q %s", resp.StatusCode, file, resp.Header)
	}
	var other int64
	sp.db.Owner.Get(&other, `SELECT min(id) FROM audit_log WHERE control_id = 'chg'`)
	if resp, _ := get(t, c, sp.URL+"/records/"+strconv.FormatInt(other, 10)+"/evidence/"+sha); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a file through a record that does not name it: %d, want 404", resp.StatusCode)
	}
	if n := sp.audited(t, "auditor.downloaded_evidence", link); n != 1 {
		t.Errorf("the download audited %d times, want 1", n)
	}
	if n := sp.audited(t, "auditor.viewed_record", "/records/"+strconv.FormatInt(id, 10)); n != 1 {
		t.Errorf("the detail audited %d times, want 1", n)
	}
}

// The offboarding population lists every offboarding whose last day is in
// the year, each with its per-system removals.
func TestAuditorSeesTheOffboardingPopulation(t *testing.T) {
	sp := newAuditorPortal(t)
	y := time.Now().UTC().Year()
	sp.db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('lee2', 'lee2@example.com', 'Lee Leaver'), ('old2', 'old2@example.com', 'Old Leaver');
		INSERT INTO systems (id, name, owner_id, removal_method) VALUES ('github', 'GitHub', 'sam', 'manual'), ('aws', 'AWS', 'sam', 'manual');`)
	sp.db.Owner.MustExec(`INSERT INTO offboardings (run_id, workflow_id, person_id, last_day, started_by) VALUES
			('run-lee', 'offboarding/lee2', 'lee2', make_date($1, 3, 1), 'mia'), ('run-old', 'offboarding/old2', 'old2', make_date($1 - 1, 3, 1), 'mia')`, y)
	sp.db.Owner.MustExec(`INSERT INTO offboarding_removals (run_id, system_id, method, outcome, removed_by, removed_at, deadline, met) VALUES
			('run-lee', 'github', 'manual', 'removed', 'sam', now(), now() + interval '1 day', true),
			('run-lee', 'aws', 'manual', 'no_account', 'sam', now(), now() + interval '1 day', true),
			('run-old', 'aws', 'manual', 'removed', 'sam', now(), now() + interval '1 day', true)`)
	c := sp.signedIn(t, "aud")
	resp, body := get(t, c, sp.URL+"/records/population?process=offboarding&year="+strconv.Itoa(y))
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-run-id="run-lee"`) || strings.Contains(page, "run-old") ||
		strings.Count(page, "<td>manual</td>") != 2 || !strings.Contains(page, "no_account") {
		t.Fatalf("population: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := get(t, c, sp.URL+"/records/population?process=training"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown process: %d, want 400", resp.StatusCode)
	}
	if n := sp.audited(t, "auditor.viewed_population", "/records/population%"); n != 1 {
		t.Errorf("population audited %d times, want 1", n)
	}
}
