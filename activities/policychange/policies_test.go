package policychange

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/temporal"

	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/policy"
)

func openRequest(t *testing.T, a *Activities, id string, kind policy.Kind) ChangeRequestInfo {
	t.Helper()
	info, err := a.OpenChangeRequest(context.Background(), OpenChangeRequestInput{
		ID: id, PolicyID: "access", Kind: kind, Summary: "add MFA statement", Body: "text of " + id,
		RequesterID: "eve", At: time.Now(),
	})
	if err != nil {
		t.Fatalf("open %s: %v", id, err)
	}
	return info
}

func publish(t *testing.T, a *Activities, id string, kind policy.Kind, at time.Time) PublishedVersion {
	t.Helper()
	v, err := a.PublishPolicyVersion(context.Background(), PublishInput{
		RequestID: id, PolicyID: "access", Kind: kind, Summary: "change " + id, Body: "text of " + id,
		PublishedBy: "sam", ChangeAt: at, Controls: []string{"policy-mgmt"},
	})
	if err != nil {
		t.Fatalf("publish %s: %v", id, err)
	}
	return v
}

type versionRow struct {
	Version     string     `db:"version"`
	PublishedAt time.Time  `db:"published_at"`
	ArchivedAt  *time.Time `db:"archived_at"`
	Superseded  *time.Time `db:"superseded_at"`
}

func versions(t *testing.T, db *sqlx.DB) []versionRow {
	t.Helper()
	var rows []versionRow
	if err := db.Select(&rows, `SELECT version, published_at, archived_at, superseded_at FROM policy_versions
		WHERE policy_id = 'access' ORDER BY year, seq, revision`); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestOpenChangeRequestRoutesToOfficerAndCEO(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	info := openRequest(t, a, "cr/1", policy.Material)
	if got := strings.Join(info.Reviewers, ","); got != "sam" {
		t.Errorf("reviewers = %q, want the security officer", got)
	}
	if got := strings.Join(info.SecondApprovers, ","); got != "cleo" {
		t.Errorf("second approvers = %q, want the CEO", got)
	}
	if got := strings.Join(info.Controls, ","); got != "policy-mgmt" {
		t.Errorf("controls = %q", got)
	}
	var audits int
	db.Owner.Get(&audits, `SELECT count(*) FROM audit_log WHERE action = 'policy.change.requested' AND subject = 'cr/1' AND control_id = 'policy-mgmt'`)
	if audits != 1 {
		t.Errorf("%d audit entries for the request, want 1", audits)
	}
	// A retried activity records nothing twice.
	openRequest(t, a, "cr/1", policy.Material)
	db.Owner.Get(&audits, `SELECT count(*) FROM audit_log WHERE subject = 'cr/1'`)
	if audits != 1 {
		t.Errorf("%d audit entries after a retry, want 1", audits)
	}
}

func TestOpenChangeRequestRefusesBadInput(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	for name, in := range map[string]OpenChangeRequestInput{
		"unknown policy":         {ID: "x1", PolicyID: "nope", Kind: policy.Material, Summary: "s", RequesterID: "eve"},
		"no summary":             {ID: "x2", PolicyID: "access", Kind: policy.Material, Summary: " ", RequesterID: "eve"},
		"requester who has left": {ID: "x4", PolicyID: "access", Kind: policy.Material, Summary: "s", RequesterID: "lee"},
	} {
		in.At = time.Now()
		if _, err := a.OpenChangeRequest(context.Background(), in); err == nil {
			t.Errorf("%s: no error", name)
		} else if !isNonRetryable(err) {
			t.Errorf("%s: %v is retryable", name, err)
		}
	}
}

func TestPublishArchivesBeforePublishing(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	at := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)

	openRequest(t, a, "cr/1", policy.Material)
	first := publish(t, a, "cr/1", policy.Material, at)
	if first.Version != "2023.1" || first.ArchivedVersion != "2022.1" {
		t.Fatalf("first publish = %+v, want 2023.1 archiving the registered 2022.1", first)
	}
	openRequest(t, a, "cr/2", policy.Material)
	second := publish(t, a, "cr/2", policy.Material, at.AddDate(0, 2, 0))
	if second.Version != "2023.2" || second.ArchivedVersion != "2023.1" {
		t.Fatalf("second publish = %+v, want 2023.2 archiving 2023.1", second)
	}
	rows := versions(t, db.App)
	if len(rows) != 3 {
		t.Fatalf("versions = %+v", rows)
	}
	old, cur := rows[1], rows[2]
	if old.ArchivedAt == nil || !old.ArchivedAt.Before(cur.PublishedAt) {
		t.Errorf("2023.1 archived at %v, not before 2023.2 was published at %v", old.ArchivedAt, cur.PublishedAt)
	}
	if old.Superseded == nil || !old.Superseded.Equal(cur.PublishedAt) || cur.Superseded != nil {
		t.Errorf("supersede times: old %v, current %v", old.Superseded, cur.Superseded)
	}
	var current string
	db.App.Get(&current, `SELECT version FROM policies WHERE id = 'access'`)
	if current != "2023.2" {
		t.Errorf("policies.version = %q, want 2023.2", current)
	}
	var order []string
	db.Owner.Select(&order, `SELECT action FROM audit_log WHERE subject = 'access' ORDER BY id`)
	if got := strings.Join(order, ","); got != "policy.version.archived,policy.version.published,policy.version.archived,policy.version.published" {
		t.Errorf("audit order = %s", got)
	}
	var owed int
	if err := a.RecordReacknowledgementOwed(context.Background(), ReacknowledgementInput{RequestID: "cr/2", PolicyID: "access", Version: "2023.2"}); err != nil {
		t.Fatal(err)
	}
	db.App.Get(&owed, `SELECT count(*) FROM policy_acknowledgements_owed WHERE policy_id = 'access' AND version = '2023.2'`)
	if owed != 1 {
		t.Errorf("re-acknowledgement owed rows = %d", owed)
	}
	// A retried publish returns what was published and issues nothing new.
	again := publish(t, a, "cr/2", policy.Material, at.AddDate(0, 2, 0))
	if again != second || len(versions(t, db.App)) != 3 {
		t.Errorf("retried publish gave %+v (first time %+v) and %d versions", again, second, len(versions(t, db.App)))
	}
}

func TestPublishWithoutArchiveIsRefused(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	openRequest(t, a, "cr/1", policy.Material)
	publish(t, a, "cr/1", policy.Material, time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC))

	insert := `INSERT INTO policy_versions (policy_id, year, seq, revision, kind, body, content_sha256, published_by, published_at)
		VALUES ('access', $1, $2, $3, $4, 'text', 'x', 'sam', now())`
	for _, db := range []*sqlx.DB{db.App, db.Owner} {
		_, err := db.Exec(insert, 2023, 2, 0, "material")
		if err == nil || !strings.Contains(err.Error(), "must be archived before") {
			t.Errorf("material publish without archive: %v", err)
		}
	}
	// Archived, but at the same instant as the publish: not before it.
	tx := db.Owner.MustBegin()
	tx.MustExec(`UPDATE policy_versions SET archived_at = now() WHERE policy_id = 'access' AND superseded_at IS NULL`)
	if _, err := tx.Exec(insert, 2023, 2, 0, "material"); err == nil {
		t.Error("publish at the archive's own time was accepted")
	}
	tx.Rollback()
	// Nor can the policy be shown at a version that was never published.
	if _, err := db.App.Exec(`UPDATE policies SET version = '2023.2', published_at = now() WHERE id = 'access'`); err == nil ||
		!strings.Contains(err.Error(), "set only by publishing") {
		t.Errorf("setting policies.version by hand: %v", err)
	}
	if _, err := db.App.Exec(`UPDATE policies SET title = 'Access Policy', status = 'deprecated' WHERE id = 'access'`); err != nil {
		t.Errorf("updating a policy's other columns: %v", err)
	}
	if _, err := db.App.Exec(insert, 2023, 1, 1, "material"); err == nil {
		t.Error("a material version with a revision was accepted")
	}
	if _, err := db.App.Exec(insert, 2023, 1, 2, "minor"); err == nil {
		t.Error("a revision that skips rev.1 was accepted")
	}
}

func TestVersionsAcrossYearsAndRevisions(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	steps := []struct {
		kind policy.Kind
		at   time.Time
		want string
	}{
		{policy.Material, time.Date(2023, 1, 10, 0, 0, 0, 0, time.UTC), "2023.1"},
		{policy.Material, time.Date(2023, 12, 31, 23, 0, 0, 0, time.UTC), "2023.2"},
		{policy.Minor, time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC), "2023.2 rev.1"},
		{policy.Material, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), "2024.1"},
		{policy.Minor, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), "2024.1 rev.1"},
		{policy.Minor, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), "2024.1 rev.2"},
		{policy.Material, time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), "2024.2"},
	}
	for i, s := range steps {
		id := "cr/" + s.want
		openRequest(t, a, id, s.kind)
		got := publish(t, a, id, s.kind, s.at)
		if got.Version != s.want {
			t.Fatalf("step %d: %s change at %s published %q, want %q", i, s.kind, s.at, got.Version, s.want)
		}
		if s.kind == policy.Minor && got.ArchivedVersion != "" {
			t.Errorf("step %d: a revision archived %s", i, got.ArchivedVersion)
		}
	}
	rows := versions(t, db.App)
	if len(rows) != len(steps)+1 {
		t.Fatalf("%d versions kept, want the registered one and %d", len(rows), len(steps))
	}
	var inEffect int
	for _, r := range rows {
		if r.Superseded == nil {
			inEffect++
		}
	}
	if inEffect != 1 {
		t.Errorf("%d versions in effect, want 1", inEffect)
	}
	// A number once used is never issued again, even by hand.
	_, err := db.Owner.Exec(`UPDATE policy_versions SET archived_at = now() WHERE policy_id = 'access' AND superseded_at IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Owner.Exec(`INSERT INTO policy_versions (policy_id, year, seq, kind, body, content_sha256, published_by, published_at)
		VALUES ('access', 2024, 1, 'material', 'text', 'x', 'sam', now() + interval '1 second')`); err == nil ||
		!strings.Contains(err.Error(), "not after every version") {
		t.Errorf("reissuing 2024.1: %v", err)
	}
}

func TestVersionsAreRetained(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	for i, id := range []string{"cr/1", "cr/2"} {
		openRequest(t, a, id, policy.Material)
		publish(t, a, id, policy.Material, time.Date(2023, time.Month(1+i), 1, 0, 0, 0, 0, time.UTC))
	}
	if _, err := db.App.Exec(`DELETE FROM policy_versions WHERE policy_id = 'access'`); err == nil {
		t.Error("the application deleted policy versions")
	}
	if _, err := db.Owner.Exec(`DELETE FROM policy_versions WHERE policy_id = 'access'`); err == nil ||
		!strings.Contains(err.Error(), "retained until") {
		t.Errorf("the owner deleted versions within their retention: %v", err)
	}
	if _, err := db.App.Exec(`UPDATE policy_versions SET body = 'rewritten' WHERE policy_id = 'access'`); err == nil {
		t.Error("the application rewrote a published version")
	}
	if _, err := db.Owner.Exec(`UPDATE policy_versions SET body = 'rewritten' WHERE policy_id = 'access'`); err == nil {
		t.Error("the owner rewrote a published version")
	}
	// Seven years after it was last in effect, a version may go.
	db.Owner.MustExec(`ALTER TABLE policy_versions DISABLE TRIGGER policy_versions_before_update`)
	db.Owner.MustExec(`UPDATE policy_versions SET published_at = published_at - interval '8 years', archived_at = archived_at - interval '8 years',
		superseded_at = superseded_at - interval '8 years' WHERE year = 2022`)
	db.Owner.MustExec(`ALTER TABLE policy_versions ENABLE TRIGGER policy_versions_before_update`)
	res, err := db.Owner.Exec(`DELETE FROM policy_versions WHERE policy_id = 'access' AND year = 2022`)
	if err != nil {
		t.Fatalf("deleting a version out of retention: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("deleted %d rows", n)
	}
}

func isNonRetryable(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.NonRetryable()
}

func TestContentHashOnlyForText(t *testing.T) {
	if h := policy.ContentHash(""); h != "" {
		t.Errorf("no text hashed to %q, want no hash", h)
	}
	if h := policy.ContentHash("abc"); h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("sha256(abc) = %q", h)
	}
}

// Nobody reviews or approves their own request: each approval goes to a
// holder of the role other than the requester, and the escalations too.
func TestOpenChangeRequestNeverRoutesToTheRequester(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('hank', 'hank@example.com', 'Hank'), ('hana', 'hana@example.com', 'Hana');
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'hank'), ('head_of_engineering', 'hana');
		INSERT INTO policies (id, title, owner_id, source, created_at, product_development) VALUES ('sdlc', 'Secure Development Policy', 'hank', 'policies/sdlc.md', '2022-06-01', true);`)
	a := &Activities{DB: db.App}
	open := func(id, policyID, requester string) ChangeRequestInfo {
		t.Helper()
		info, err := a.OpenChangeRequest(context.Background(), OpenChangeRequestInput{ID: id, PolicyID: policyID, Kind: policy.Material,
			Summary: "s", RequesterID: requester, At: time.Now()})
		if err != nil {
			t.Fatalf("open %s as %s: %v", id, requester, err)
		}
		return info
	}
	for _, tc := range []struct {
		requester, policyID      string
		reviewers, second, heads string
	}{
		{"eve", "access", "sam", "cleo", ""},
		{"sam", "access", "pat", "cleo", ""}, // the Security Officer's own request goes to the Privacy Officer
		{"pat", "access", "sam", "cleo", ""},
		{"cleo", "access", "sam", "dee", ""},    // the CEO's goes to the designee
		{"hank", "sdlc", "sam", "cleo", "hana"}, // a Head of Engineering's to the other one
	} {
		info := open("cr/"+tc.requester+"/"+tc.policyID, tc.policyID, tc.requester)
		got := []string{strings.Join(info.Reviewers, ","), strings.Join(info.SecondApprovers, ","), strings.Join(info.Engineering, ",")}
		want := []string{tc.reviewers, tc.second, tc.heads}
		if !slices.Equal(got, want) {
			t.Errorf("requested by %s: reviewers, second approvers, engineering = %q, want %q", tc.requester, got, want)
		}
	}
}

// When nobody but the requester holds a role the request needs, it is
// refused at once, naming the role, and nothing is recorded.
func TestOpenChangeRequestRefusesWhenOnlyTheRequesterCouldApprove(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	db.Owner.MustExec(`DELETE FROM roles WHERE role IN ('privacy_officer', 'ceo_designee');
		INSERT INTO people (id, email, name) VALUES ('hank', 'hank@example.com', 'Hank');
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'hank');
		INSERT INTO policies (id, title, owner_id, source, created_at, product_development) VALUES ('sdlc', 'Secure Development Policy', 'hank', 'policies/sdlc.md', '2022-06-01', true);`)
	a := &Activities{DB: db.App}
	for _, tc := range []struct {
		requester, policyID, want string
	}{
		{"sam", "access", "only the requester, sam, holds the role security_officer or privacy_officer to review the request"},
		{"cleo", "access", "only the requester, cleo, holds the role ceo or ceo_designee to approve a material change"},
		{"hank", "sdlc", "only the requester, hank, holds the role head_of_engineering"},
	} {
		id := "cr/" + tc.requester
		_, err := a.OpenChangeRequest(context.Background(), OpenChangeRequestInput{ID: id, PolicyID: tc.policyID, Kind: policy.Material,
			Summary: "s", RequesterID: tc.requester, At: time.Now()})
		if err == nil || !isNonRetryable(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "in the program file") {
			t.Errorf("requested by %s: %v; want a non-retryable error saying %q and to add a holder in the program file", tc.requester, err, tc.want)
		}
		if err := CheckChangeApprovers(context.Background(), db.App, tc.policyID, tc.requester, policy.Material); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check for %s: %v", tc.requester, err)
		}
		var n int
		db.Owner.Get(&n, `SELECT (SELECT count(*) FROM change_requests WHERE id = $1) + (SELECT count(*) FROM audit_log WHERE subject = $1)`, id)
		if n != 0 {
			t.Errorf("requested by %s: %d rows recorded for a refused request", tc.requester, n)
		}
	}
}

// The program file's product_development mark decides whether the Head of
// Engineering approves a change, not who owns the policy: a policy a Head
// of Engineering owns without the mark needs no engineering approval, and a
// marked one the Security Officer owns does.
func TestOpenChangeRequestAsksEngineeringForProductDevelopmentPoliciesOnly(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('hank', 'hank@example.com', 'Hank');
		INSERT INTO roles (role, person_id) VALUES ('head_of_engineering', 'hank');
		INSERT INTO policies (id, title, owner_id, source, created_at, product_development) VALUES
			('hiring', 'Engineering Hiring Policy', 'hank', 'policies/hiring.md', '2022-06-01', false),
			('sdlc', 'Secure Development Policy', 'sam', 'policies/sdlc.md', '2022-06-01', true);`)
	a := &Activities{DB: db.App}
	for policyID, want := range map[string]string{"hiring": "", "sdlc": "hank"} {
		info, err := a.OpenChangeRequest(context.Background(), OpenChangeRequestInput{ID: "cr/" + policyID, PolicyID: policyID,
			Kind: policy.Material, Summary: "s", RequesterID: "eve", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(info.Engineering, ","); got != want {
			t.Errorf("%s: engineering approvers %q, want %q", policyID, got, want)
		}
	}
}

// A request with neither text nor reference is not published: it is
// returned to its requester, on record, with a NoDocument error the workflow
// sends back to them. A retry refuses it again without a second record.
func TestPublishWithoutDocumentIsRefused(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	a := &Activities{DB: db.App}
	if _, err := a.OpenChangeRequest(ctx, OpenChangeRequestInput{ID: "cr/1", PolicyID: "access", Kind: policy.Material,
		Summary: "asked for in the annual review", RequesterID: "eve", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	in := PublishInput{RequestID: "cr/1", Round: 1, PolicyID: "access", Kind: policy.Material, Summary: "asked for in the annual review",
		Body: " \n", PublishedBy: "sam", ChangeAt: time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC), Controls: []string{"policy-mgmt"}}
	for attempt := 1; attempt <= 2; attempt++ {
		_, err := a.PublishPolicyVersion(ctx, in)
		var appErr *temporal.ApplicationError
		var details NoDocument
		if !errors.As(err, &appErr) || appErr.Type() != NoDocumentError || !appErr.NonRetryable() ||
			appErr.Details(&details) != nil || details.PolicyID != "access" || details.Round != 1 {
			t.Fatalf("attempt %d: publish without a document: %v, want a non-retryable %s error", attempt, err, NoDocumentError)
		}
	}
	if rows := versions(t, db.App); len(rows) != 1 {
		t.Errorf("%d versions, want only the registered one", len(rows))
	}
	var status string
	if err := db.App.Get(&status, `SELECT status FROM change_requests WHERE id = 'cr/1'`); err != nil || status != StatusReturned {
		t.Errorf("request status %q (%v), want %s", status, err, StatusReturned)
	}
	var n int
	if err := db.App.Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'policy.change.no-document' AND subject = 'cr/1'`); err != nil || n != 1 {
		t.Errorf("%d no-document audit entries (%v), want 1", n, err)
	}
	// A reference alone is a document.
	in.Round, in.Reference = 2, "https://wiki.example.com/access-policy"
	if v, err := a.PublishPolicyVersion(ctx, in); err != nil || v.Version != "2023.1" || v.ArchivedVersion != "2022.1" {
		t.Fatalf("publish with a reference: %+v, %v", v, err)
	}
}

// The database itself refuses a version naming no document, the owner's
// INSERT included.
func TestEmptyVersionIsRefused(t *testing.T) {
	db := testenv.Postgres(t)
	testenv.SeedPolicyProgram(t, db)
	db.Owner.MustExec(`UPDATE policy_versions SET archived_at = now() WHERE policy_id = 'access' AND superseded_at IS NULL`)
	for _, c := range []struct {
		db   *sqlx.DB
		name string
	}{{db.Owner, "owner"}, {db.App, "application"}} {
		_, err := c.db.Exec(`INSERT INTO policy_versions (policy_id, year, seq, kind, content_sha256, published_by, published_at)
			VALUES ('access', 2030, 1, 'material', '', 'sam', now() + interval '1 second')`)
		if err == nil || !strings.Contains(err.Error(), "policy_versions_document") {
			t.Errorf("%s inserting a version without text or reference: %v", c.name, err)
		}
	}
	if _, err := db.Owner.Exec(`INSERT INTO policy_versions (policy_id, year, seq, kind, reference, content_sha256, published_by, published_at)
		VALUES ('access', 2030, 1, 'material', 'https://wiki.example.com/access', '', 'sam', now() + interval '1 second')`); err != nil {
		t.Errorf("a version with a reference: %v", err)
	}
}
