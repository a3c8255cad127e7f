package main_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/completion"
)

// newFilteredPortal is newAuditorPortal with chg's records from the
// policy-change-request process and rm's from offboarding, and two of chg's
// records made by eve.
func newFilteredPortal(t *testing.T) *signinPortal {
	t.Helper()
	sp := newAuditorPortal(t)
	sp.db.Owner.MustExec(`
		UPDATE controls SET processes = '{policy-change-request}' WHERE id = 'chg';
		UPDATE controls SET processes = '{offboarding}' WHERE id = 'rm';`)
	for i := range 2 {
		if err := audit.Write(context.Background(), sp.db.App, audit.Entry{Actor: "eve", Action: "policy.change.requested",
			Subject: "cr-eve-" + strconv.Itoa(i), Controls: []string{"chg"}}); err != nil {
			t.Fatal(err)
		}
	}
	return sp
}

func auditIDStrings(rs []completion.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, strconv.FormatInt(r.AuditID, 10))
	}
	return out
}

var downloadLinks = regexp.MustCompile(`href="(/records/(?:export\?format=csv|pack)[^"]*)"`)

// The records page by process and by person (issue 16 item 3): exactly the
// query's records, page after page, with the filter kept in the next link
// and in the export and pack links, and in the form.
func TestAuditorFiltersByProcessAndPerson(t *testing.T) {
	sp := newFilteredPortal(t)
	c := sp.signedIn(t, "aud")
	for _, tc := range []struct {
		path   string
		filter completion.Filter
		n      int
	}{
		{"/records?process=offboarding", completion.Filter{Process: "offboarding"}, 4}, // rm's three removals and the vendor's upload
		{"/records?person=eve", completion.Filter{Person: "eve"}, 2},
		{"/records?person=sam&process=policy-change-request", completion.Filter{Person: "sam", Process: "policy-change-request"}, 130},
	} {
		f := thisYear()
		f.Process, f.Person = tc.filter.Process, tc.filter.Person
		want := auditIDStrings(query(t, sp.db, f))
		if len(want) != tc.n {
			t.Fatalf("%s: the query has %d records, want %d", tc.path, len(want), tc.n)
		}
		var got []string
		next := tc.path
		for pages := 0; next != ""; pages++ {
			resp, body := get(t, c, sp.URL+next)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", next, resp.StatusCode, body)
			}
			if pages == 0 {
				for _, v := range []string{f.Process, f.Person} {
					if v != "" && !strings.Contains(string(body), `value="`+v+`"`) {
						t.Errorf("%s: the form does not show %q", tc.path, v)
					}
				}
				links := downloadLinks.FindAllSubmatch(body, -1)
				if len(links) != 2 {
					t.Fatalf("%s: download links %q", tc.path, links)
				}
				for _, l := range links {
					u, _ := url.Parse(html.UnescapeString(string(l[1])))
					if u.Query().Get("process") != f.Process || u.Query().Get("person") != f.Person {
						t.Errorf("%s: download link %s does not carry the filter", tc.path, u)
					}
				}
				// The CSV the page links to is the same records.
				resp, csvBody := get(t, c, sp.URL+html.UnescapeString(string(links[0][1])))
				rows, err := csv.NewReader(bytes.NewReader(csvBody)).ReadAll()
				if resp.StatusCode != http.StatusOK || err != nil || len(rows) != 1+len(want) {
					t.Errorf("%s: CSV export %d, %d rows (%v), want %d", tc.path, resp.StatusCode, len(rows), err, 1+len(want))
				}
			}
			var ids []string
			ids, next = pageIDs(body)
			got = append(got, ids...)
			if next != "" {
				u, _ := url.Parse(next)
				if u.Query().Get("process") != f.Process || u.Query().Get("person") != f.Person {
					t.Fatalf("%s: next link %s does not carry the filter", tc.path, next)
				}
			}
			if pages > 3 {
				t.Fatalf("%s: paging does not end", tc.path)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: audit ids %v, want %v", tc.path, got, want)
		}
	}
	var audited int
	sp.db.Owner.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'auditor.viewed_records' AND detail->>'person' = 'sam'
		AND detail->>'process' = 'policy-change-request'`)
	if audited != 2 {
		t.Errorf("views of sam's policy-change-request records audited %d times, want 2", audited)
	}
}

// The API honours process= and person= as the page does, and both refuse
// an unknown one (400) naming it.
func TestAPIAndPortalFilterByProcessAndPerson(t *testing.T) {
	sp := newFilteredPortal(t)
	is := sp.token(t, time.Now().Add(time.Hour))
	f := thisYear()
	f.Person, f.Process = "eve", "policy-change-request"
	want := auditIDStrings(query(t, sp.db, f))
	code, page := apiGet(t, sp, "/api/v1/records?person=eve&process=policy-change-request", is.Token)
	var got []string
	for _, r := range page.Records {
		got = append(got, strconv.FormatInt(r.AuditID, 10))
	}
	if code != http.StatusOK || len(want) != 2 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("API by person and process: %d, %v, want %v", code, got, want)
	}

	c := sp.signedIn(t, "aud")
	for _, tc := range []struct{ query, want string }{
		{"process=offboard", `process "offboard": no control in the program lists it (the program's processes: annual-policy-review, offboarding, policy-acknowledgement, policy-change-request,`},
		{"person=nobody", `person "nobody": not a person in the directory`},
	} {
		for _, path := range []string{"/records?", "/records/export?format=csv&", "/records/pack?"} {
			resp, body := get(t, c, sp.URL+path+tc.query)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(string(body)), tc.want) {
				t.Errorf("GET %s%s: %d %s, want 400 %q", path, tc.query, resp.StatusCode, body, tc.want)
			}
		}
		resp, body := get(t, http.DefaultClient, sp.URL+"/api/v1/records?"+tc.query, "Authorization", "Bearer "+is.Token)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
			t.Errorf("API %s: %d %s, want 400 %q", tc.query, resp.StatusCode, body, tc.want)
		}
	}
}

// An auditor's audit period still clamps a filtered request: this year's
// records of a person are refused to an auditor limited to last year, and
// without a period they get last year's, none of them this year's.
func TestAuditorPeriodClampsFilteredRecords(t *testing.T) {
	sp := newFilteredPortal(t)
	last := time.Now().UTC().Year() - 1
	sp.db.Owner.MustExec(`UPDATE accounts SET audit_from = $1, audit_to = $2 WHERE person_id = 'aud'`,
		strconv.Itoa(last)+"-01-01", strconv.Itoa(last)+"-12-31")
	c := sp.signedIn(t, "aud")
	year := strconv.Itoa(last + 1)
	for _, path := range []string{"/records?person=eve&year=" + year, "/records/export?format=csv&process=offboarding&year=" + year,
		"/records/pack?person=sam&year=" + year} {
		if resp, body := get(t, c, sp.URL+path); resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "audit period") {
			t.Errorf("GET %s: %d %s, want 403", path, resp.StatusCode, body)
		}
	}
	resp, body := get(t, c, sp.URL+"/records?person=eve&process=policy-change-request")
	if ids, _ := pageIDs(body); resp.StatusCode != http.StatusOK || len(ids) != 0 || !strings.Contains(string(body), "Your audit period") {
		t.Errorf("eve's records in the auditor's own period: %d, %d records", resp.StatusCode, len(ids))
	}
}
