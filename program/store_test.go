package program

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
)

func TestRecord(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('p-so', 'Sam'), ('p-coo', 'David'), ('p-ceo', 'Maria')`)

	first, errs := parse(t, strings.Replace(valid, "controls:\n", `  - {id: aup, title: Acceptable Use Policy, owner: p-coo, url: "https://example.com/aup"}
controls:
  - id: awareness
    title: Security Awareness Training
    policies: [aup]
    frameworks: {soc2: [CC2.2], hipaa: ["164.308(a)(5)(i)"]}
`, 1))
	if errs != nil {
		t.Fatal(errs)
	}
	if v, err := Latest(ctx, db.App); err != nil || v != nil {
		t.Fatalf("Latest before any apply = %+v, %v", v, err)
	}
	changes := []map[string]string{{"kind": "create", "schedule_id": "complyflow/yearly-review"}}
	id1, err := Record(ctx, db.App, first, "p-so", changes)
	if err != nil {
		t.Fatal(err)
	}

	// Auditors query controls by framework requirement.
	var byReq []string
	if err := db.App.Select(&byReq, `SELECT control_id FROM control_requirements WHERE framework = 'soc2' ORDER BY control_id, ref`); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(byReq, []string{"awareness", "program-review", "program-review"}) {
		t.Errorf("soc2 controls = %v", byReq)
	}
	var policies []string
	db.App.Select(&policies, `SELECT control_id || '>' || policy_id FROM control_policies ORDER BY 1`)
	if !reflect.DeepEqual(policies, []string{"awareness>aup", "program-review>infosec"}) {
		t.Errorf("control_policies = %v", policies)
	}
	var roles []string
	db.App.Select(&roles, `SELECT role || '=' || person_id FROM roles ORDER BY 1`)
	if !reflect.DeepEqual(roles, []string{"coo=p-coo", "security_officer=p-so"}) {
		t.Errorf("roles = %v", roles)
	}

	// The second version drops a control and changes a mapping and a role.
	second, errs := parse(t, strings.NewReplacer("coo: p-coo", "coo: [p-coo, p-ceo]", "CC1.4, CC5.3", "CC1.2").Replace(valid))
	if errs != nil {
		t.Fatal(errs)
	}
	id2, err := Record(ctx, db.App, second, "p-so", []map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if id2 <= id1 {
		t.Fatalf("version ids %d then %d", id1, id2)
	}
	var retired []string
	db.App.Select(&retired, `SELECT id FROM controls WHERE retired_at IS NOT NULL`)
	if !reflect.DeepEqual(retired, []string{"awareness"}) {
		t.Errorf("retired controls = %v", retired)
	}
	var reqs []string
	db.App.Select(&reqs, `SELECT framework || ' ' || ref FROM control_requirements WHERE control_id = 'program-review' ORDER BY 1`)
	if !reflect.DeepEqual(reqs, []string{"gdpr Art. 24(2)", "hipaa 164.316(b)(2)(iii)", "soc2 CC1.2"}) {
		t.Errorf("program-review requirements = %v", reqs)
	}
	roles = nil
	db.App.Select(&roles, `SELECT role || '=' || person_id FROM roles ORDER BY 1`)
	if !reflect.DeepEqual(roles, []string{"coo=p-ceo", "coo=p-coo", "security_officer=p-so"}) {
		t.Errorf("roles = %v", roles)
	}
	var policyCount int
	db.App.Get(&policyCount, `SELECT count(*) FROM policies`)
	if policyCount != 2 {
		t.Errorf("policies = %d, want both kept", policyCount)
	}

	v, err := Latest(ctx, db.App)
	if err != nil || v == nil || v.ID != id2 || v.Hash != second.Hash || !reflect.DeepEqual([]string(v.ObligationIDs), []string{"yearly-review"}) {
		t.Fatalf("Latest = %+v, %v", v, err)
	}
	var audit []struct {
		Actor  string `db:"actor"`
		Detail []byte `db:"detail"`
	}
	if err := db.App.Select(&audit, `SELECT actor, detail FROM audit_log WHERE action = 'program.apply' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 {
		t.Fatalf("audit entries = %d, want 2", len(audit))
	}
	var detail struct {
		Hash    string              `json:"content_hash"`
		Changes []map[string]string `json:"changes"`
	}
	json.Unmarshal(audit[0].Detail, &detail)
	if audit[0].Actor != "p-so" || detail.Hash != first.Hash || !reflect.DeepEqual(detail.Changes, changes) {
		t.Errorf("audit = %s by %s", audit[0].Detail, audit[0].Actor)
	}
}

func TestPeopleFromDirectory(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('p-so', 'Sam'), ('p-ceo', 'Maria')`)
	people, err := People(context.Background(), db.App)
	if err != nil {
		t.Fatal(err)
	}
	_, errs := parseWith(t, valid, Options{Now: now, People: people})
	if got := lines(errs); !reflect.DeepEqual(got, []string{`program.yaml:3: roles.coo: unknown person "p-coo"`}) {
		t.Errorf("errors = %q", got)
	}
}

func TestLockApplyKeepsASecondApplyOut(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	unlock, err := LockApply(ctx, db.App)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockApply(ctx, db.App); !errors.Is(err, ErrApplyRunning) {
		t.Fatalf("second LockApply = %v, want ErrApplyRunning", err)
	}
	unlock()
	unlock, err = LockApply(ctx, db.App)
	if err != nil {
		t.Fatalf("LockApply after unlock: %v", err)
	}
	unlock()
}

// The file's product_development mark is stored on the policy, and taking
// it off in a later version of the file clears it.
func TestRecordProductDevelopment(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('p-so', 'Sam'), ('p-coo', 'David')`)
	marked := strings.Replace(valid, "    file: policies/infosec.md\n", "    file: policies/infosec.md\n    product_development: true\n", 1)
	for i, src := range []string{marked, valid} {
		p, errs := parse(t, src)
		if errs != nil {
			t.Fatal(errs)
		}
		if _, err := Record(ctx, db.App, p, "p-so", nil); err != nil {
			t.Fatal(err)
		}
		var pd bool
		if err := db.App.Get(&pd, `SELECT product_development FROM policies WHERE id = 'infosec'`); err != nil {
			t.Fatal(err)
		}
		if want := i == 0; pd != want {
			t.Errorf("apply %d: product_development = %v, want %v", i+1, pd, want)
		}
	}
}
