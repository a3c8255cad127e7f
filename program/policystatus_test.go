package program

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/internal/testenv"
)

func TestParsePolicyVersionAndDeprecated(t *testing.T) {
	src := strings.Replace(valid, "    file: policies/infosec.md\n", "    file: policies/infosec.md\n    version: 2023.4\n    deprecated: true\n", 1)
	p, errs := parse(t, src)
	if errs != nil {
		t.Fatal(errs)
	}
	if pol := p.Policies[0]; pol.Version != "2023.4" || !pol.Deprecated {
		t.Fatalf("policy = %+v, want version 2023.4, deprecated", pol)
	}
	bad := strings.Replace(valid, "    file: policies/infosec.md\n", "    file: policies/infosec.md\n    version: 2023.4 rev.2\n    deprecated: maybe\n", 1)
	_, errs = parse(t, bad)
	want := []string{
		`program.yaml:9: policies[infosec].version: "2023.4 rev.2": give the version as YYYY.N; its revisions are recorded by the changes complyflow makes`,
		`program.yaml:10: policies[infosec].deprecated: expected true or false, found "maybe"`,
	}
	if got := lines(errs); !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A policy keeps its versions when it is deprecated: marked so in the file, or
// gone from it. Listed again without the mark, it is back in force.
func TestRecordDeprecatesPolicies(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('p-so', 'Sam'), ('p-coo', 'David'), ('p-ceo', 'Maria')`)
	apply := func(src string) map[string]string {
		t.Helper()
		p, errs := parse(t, src)
		if errs != nil {
			t.Fatal(errs)
		}
		if _, err := Record(ctx, db.App, p, "p-so", []map[string]string{}); err != nil {
			t.Fatal(err)
		}
		var rows []struct {
			ID      string `db:"id"`
			Status  string `db:"status"`
			Version string `db:"version"`
		}
		if err := db.App.Select(&rows, `SELECT id, status, version FROM policies`); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rows {
			got[r.ID] = r.Status + " " + r.Version
		}
		return got
	}
	aup := "  - {id: aup, title: Acceptable Use Policy, owner: p-so, url: \"https://example.com/aup\", version: 2021.3, deprecated: true}\ncontrols:\n"
	got := apply(strings.Replace(valid, "controls:\n", aup, 1))
	if want := map[string]string{"infosec": "published " + time.Now().UTC().Format("2006") + ".1", "aup": "deprecated 2021.3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("first apply: %v, want %v", got, want)
	}

	withoutInfosec := strings.Replace(strings.Replace(valid, "controls:\n", strings.Replace(aup, ", deprecated: true", "", 1), 1),
		"    policies: [infosec]\n", "    policies: [aup]\n", 1)
	withoutInfosec = strings.Replace(withoutInfosec, "  - id: infosec\n    title: Information Security Policy\n    owner: p-so\n    file: policies/infosec.md\n", "", 1)
	got = apply(withoutInfosec)
	if want := map[string]string{"infosec": "deprecated " + time.Now().UTC().Format("2006") + ".1", "aup": "published 2021.3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("second apply: %v, want %v", got, want)
	}
}
