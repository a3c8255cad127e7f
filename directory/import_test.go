package directory_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/testenv"
)

func importString(t *testing.T, db *testenv.DB, kind directory.Kind, csv string) (directory.Result, error) {
	t.Helper()
	return directory.Import(context.Background(), db.App, kind, "in.csv", strings.NewReader(csv), "test")
}

func importDemo(t *testing.T, db *testenv.DB) {
	t.Helper()
	for _, kind := range []directory.Kind{directory.People, directory.Systems, directory.Vendors} {
		f, err := os.Open("../demo/" + string(kind) + ".csv")
		if err != nil {
			t.Fatal(err)
		}
		_, err = directory.Import(context.Background(), db.App, kind, f.Name(), f, "test")
		f.Close()
		if err != nil {
			t.Fatalf("import demo %s: %v", kind, err)
		}
	}
}

func count(t *testing.T, db *testenv.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.App.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportDemoThenReimportUpdates(t *testing.T) {
	db := testenv.Postgres(t)
	importDemo(t, db)
	people := count(t, db, `SELECT count(*) FROM people`)
	if people < 40 {
		t.Fatalf("demo people imported: %d, want at least 40", people)
	}
	f, _ := os.Open("../demo/people.csv")
	defer f.Close()
	res, err := directory.Import(context.Background(), db.App, directory.People, "people.csv", f, "test")
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 0 || res.Updated != people {
		t.Fatalf("re-import: %+v, want 0 inserted and %d updated", res, people)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'directory.import'`); n != 4 {
		t.Fatalf("audit_log import entries: %d, want 4 (one per file)", n)
	}
	var detail string
	db.App.Get(&detail, `SELECT detail::text FROM audit_log WHERE action = 'directory.import' ORDER BY id DESC LIMIT 1`)
	if !strings.Contains(detail, `"updated": `+strconv.Itoa(people)) {
		t.Fatalf("audit detail %s does not carry the counts", detail)
	}
}

func TestImportPeopleBadRowsReportsEveryLineAndWritesNothing(t *testing.T) {
	db := testenv.Postgres(t)
	importDemo(t, db)
	var before []string
	db.App.Select(&before, `SELECT id || email || name || coalesce(manager_id, '') FROM people ORDER BY id`)
	audits := count(t, db, `SELECT count(*) FROM audit_log`)

	csv := "id,email,name,manager_id,slack_user_id,department,title,start_date,end_date\n" +
		"p-new,new@example.com,New Person,p-ceo,,Eng,Engineer,2026-01-05,\n" +
		"p-ceo,not-an-email,Maria Alvarez,,,Exec,CEO,2019-03-01,\n" +
		"p-x,x@example.com,X,p-nobody,,Eng,Engineer,2026-01-05,\n" +
		"p-y,y@example.com,Y,p-ceo,,Eng,Engineer,2026-13-40,\n"
	_, err := importString(t, db, directory.People, csv)
	rowErrs, ok := err.(directory.RowErrors)
	if !ok {
		t.Fatalf("error %v (%T), want RowErrors", err, err)
	}
	want := []string{
		`in.csv:3: email "not-an-email" is not an email address`,
		`in.csv:4: manager_id "p-nobody" is not a known person`,
		`in.csv:5: start_date "2026-13-40" is not a date (YYYY-MM-DD)`,
	}
	if strings.Join(rowErrs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", rowErrs, strings.Join(want, "\n"))
	}
	var after []string
	db.App.Select(&after, `SELECT id || email || name || coalesce(manager_id, '') FROM people ORDER BY id`)
	if strings.Join(before, ",") != strings.Join(after, ",") {
		t.Fatal("people changed by a rejected import")
	}
	if n := count(t, db, `SELECT count(*) FROM audit_log`); n != audits {
		t.Fatalf("rejected import wrote %d audit entries", n-audits)
	}
}

func TestImportPeopleRejects(t *testing.T) {
	header := "id,email,name,manager_id,slack_user_id,department,title,start_date,end_date\n"
	cases := []struct {
		name, csv, want string
	}{
		{"manager cycle", header + "a,a@example.com,A,b,,,,,\nb,b@example.com,B,a,,,,,\n", `in.csv:2: manager cycle: [a b a]`},
		{"self manager", header + "a,a@example.com,A,a,,,,,\n", `in.csv:2: manager_id "a" is the person themself`},
		{"missing column", "id,email,name,manager_id,slack_user_id,department,title,start_date\n", `in.csv:1: missing column "end_date"`},
		{"unknown column", strings.TrimSuffix(header, "\n") + ",shoe_size\n", `in.csv:1: unknown column "shoe_size"`},
		{"short row", header + "a,a@example.com,A\n", `in.csv:2: 3 fields, the header has 9`},
		{"short row among bad values", header + "a,bad,A,,,,,,\nb,b@example.com,B\nc,c@example.com,C,p-ghost,,,,,\n",
			"in.csv:2: email \"bad\" is not an email address\nin.csv:3: 3 fields, the header has 9\nin.csv:4: manager_id \"p-ghost\" is not a known person"},
		{"duplicate id", header + "a,a@example.com,A,,,,,,\na,a@example.com,A,,,,,,\n", `in.csv:3: id "a" already on line 2`},
		{"empty name", header + "a,a@example.com,,,,,,,\n", `in.csv:2: name is empty`},
		{"end before start", header + "a,a@example.com,A,,,,,2026-02-01,2026-01-01\n", `in.csv:2: end_date 2026-01-01 is before start_date 2026-02-01`},
		{"empty file", "", `in.csv:1: empty file`},
	}
	db := testenv.Postgres(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importString(t, db, directory.People, tc.csv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if n := count(t, db, `SELECT count(*) FROM people`); n != 0 {
				t.Fatalf("%d people written", n)
			}
		})
	}
}

func TestImportSystemsAndVendorsReject(t *testing.T) {
	db := testenv.Postgres(t)
	importDemo(t, db)
	_, err := importString(t, db, directory.Systems, "id,name,owner_id,removal_method,webhook_url,criticality,scim_base_url,scim_token_env\n"+
		"s1,Git,p-nobody,manual,,low,,\n"+
		"s2,Okta,p-ceo,webhook,ftp://x,high,,\n"+
		"s3,Jira,p-ceo,email,,low,,\n"+
		"s4,Okta,p-ceo,scim,,extreme,https://okta.example/scim/v2,not a name\n"+
		"s5,Git,p-ceo,manual,https://x.example/hook,low,,\n")
	for _, want := range []string{
		`in.csv:2: owner_id "p-nobody" is not a known person`,
		`in.csv:3: webhook_url "ftp://x" is not an http(s) URL`,
		`in.csv:4: removal_method "email" is not one of [manual webhook scim]`,
		`in.csv:5: criticality "extreme" is not one of`,
		`in.csv:5: scim_token_env "not a name" is not an environment variable name`,
		`in.csv:6: webhook_url is set but removal_method is manual`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("systems error %v, want %q", err, want)
		}
	}
	_, err = importString(t, db, directory.Vendors, "id,name,contact_email,owner_id,criticality\n"+
		"v1,Acme,,p-ceo,high\n"+
		"v2,Beta,b@beta.example,p-ceo,extreme\n")
	for _, want := range []string{`in.csv:2: contact_email is empty`, `in.csv:3: criticality "extreme" is not one of`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("vendors error %v, want %q", err, want)
		}
	}
}

// Issue 10, item 13: what the import let through and what that broke.
func TestImportRefusesBadIDsNULAndSharedContacts(t *testing.T) {
	header := "id,email,name,manager_id,slack_user_id,department,title,start_date,end_date\n"
	cases := []struct {
		name, csv, want string
	}{
		// The link signer joins task and person IDs with \x1f: such an ID
		// makes every link to that person unverifiable.
		{"unit separator in id", header + "a\x1fb,a@example.com,A,,,,,,\n",
			`in.csv:2: id "a\x1fb": use letters, digits, '.', '_' and '-' only, starting with a letter or digit`},
		{"space in id", header + "a b,a@example.com,A,,,,,,\n", `in.csv:2: id "a b": use letters, digits`},
		{"NUL byte", header + "a,a@example.com,A\x00,,,,,,\n", `in.csv:2: name contains a NUL byte`},
		{"invalid UTF-8", header + "a,a@example.com,A\xff,,,,,,\n", `in.csv:2: name is not valid UTF-8`},
		{"shared email", header + "a,same@example.com,A,,U1,,,,\nb,Same@Example.com,B,,U2,,,,\n",
			`in.csv:3: email "Same@Example.com" is also person "a"'s (line 2)`},
		{"shared Slack user ID", header + "a,a@example.com,A,,U1,,,,\nb,b@example.com,B,,U1,,,,\n",
			`in.csv:3: slack_user_id "U1" is also person "a"'s (line 2)`},
	}
	db := testenv.Postgres(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importString(t, db, directory.People, tc.csv)
			if _, ok := err.(directory.RowErrors); !ok || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v (%T), want RowErrors containing %q", err, err, tc.want)
			}
			if n := count(t, db, `SELECT count(*) FROM people`); n != 0 {
				t.Fatalf("%d people written", n)
			}
		})
	}
	// Two people may both have no email and no Slack account.
	if _, err := importString(t, db, directory.People, header+"a,,A,,,,,,\nb,,B,,,,,,\n"); err != nil {
		t.Fatalf("people without email or Slack: %v", err)
	}
}

func TestImportRefusesContactsOfPeopleAlreadyThere(t *testing.T) {
	db := testenv.Postgres(t)
	importDemo(t, db)
	header := "id,email,name,manager_id,slack_user_id,department,title,start_date,end_date\n"
	people := count(t, db, `SELECT count(*) FROM people`)

	// p-ceo stays in the table with her email and Slack ID; the file does not replace her.
	_, err := importString(t, db, directory.People, header+
		"p-new,maria.alvarez@example.com,New,,U9999999,,,,\n"+
		"p-other,other@example.com,Other,,U0000001,,,,\n")
	for _, want := range []string{
		`in.csv:2: email "maria.alvarez@example.com" is also person "p-ceo"'s (already imported)`,
		`in.csv:3: slack_user_id "U0000001" is also person "p-ceo"'s (already imported)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM people`); n != people {
		t.Fatalf("a refused import changed the people count to %d", n)
	}

	// A file that gives p-ceo a new address may hand her old one to someone else.
	if _, err := importString(t, db, directory.People, header+
		"p-ceo,maria@example.com,Maria Alvarez,,U0000001,Executive,Chief Executive Officer,2019-03-01,\n"+
		"p-new,maria.alvarez@example.com,New,p-ceo,U9999999,,,,\n"); err != nil {
		t.Fatalf("moving an address within one file: %v", err)
	}
}

func TestImportSystemsAndVendorsRefuseBadIDs(t *testing.T) {
	db := testenv.Postgres(t)
	importDemo(t, db)
	_, err := importString(t, db, directory.Systems, "id,name,owner_id,removal_method,webhook_url,criticality,scim_base_url,scim_token_env\n"+
		"sys\x1fx,Git,p-ceo,manual,,low,,\n"+
		"sys-y,Jira\x00,p-ceo,manual,,low,,\n")
	for _, want := range []string{`in.csv:2: id "sys\x1fx": use letters`, `in.csv:3: name contains a NUL byte`} {
		if _, ok := err.(directory.RowErrors); !ok || !strings.Contains(err.Error(), want) {
			t.Errorf("systems error %v (%T), want RowErrors containing %q", err, err, want)
		}
	}
	_, err = importString(t, db, directory.Vendors, "id,name,contact_email,owner_id,criticality\n"+
		"v/acme,Acme,a@acme.example,p-ceo,high\n")
	if want := `in.csv:2: id "v/acme": use letters`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("vendors error %v, want %q", err, want)
	}
	if n := count(t, db, `SELECT count(*) FROM systems WHERE id IN ('sys-y', E'sys\x1fx')`); n != 0 {
		t.Fatalf("%d systems written by a refused import", n)
	}
}

// The HR feed: an import lists the people whose end date it newly set, and
// re-importing the same file lists nobody (issue 13 item 1).
func TestImportPeopleListsNewlySetEndDatesOnce(t *testing.T) {
	db := testenv.Postgres(t)
	head := "id,email,name,manager_id,slack_user_id,department,title,start_date,end_date\n"
	first := head + "m,m@example.com,M,,,,,,\n" + "a,a@example.com,A,m,,,,,\n" + "old,old@example.com,Old,m,,,,,2020-01-31\n"
	res, err := importString(t, db, directory.People, first)
	if err != nil || len(res.Leavers) != 0 {
		t.Fatalf("first import: %+v, %v; a new person with an end date is history, not a leaver", res, err)
	}
	leaving := head + "m,m@example.com,M,,,,,,\n" + "a,a@example.com,A,m,,,,,2026-12-18\n" + "old,old@example.com,Old,m,,,,,2020-01-31\n"
	res, err = importString(t, db, directory.People, leaving)
	if err != nil || len(res.Leavers) != 1 || res.Leavers[0] != (directory.Leaver{PersonID: "a", LastDay: "2026-12-18"}) {
		t.Fatalf("end date set: leavers %+v, %v; want a on 2026-12-18", res.Leavers, err)
	}
	if res, err = importString(t, db, directory.People, leaving); err != nil || len(res.Leavers) != 0 {
		t.Fatalf("re-import: leavers %+v, %v; want none", res.Leavers, err)
	}
}
