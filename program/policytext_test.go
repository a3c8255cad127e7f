package program

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
)

// twoPolicies adds a second file policy to the valid program, on line 9.
var twoPolicies = strings.Replace(valid, "controls:\n", "  - {id: aup, title: Acceptable Use Policy, owner: p-so, file: texts/aup.md}\ncontrols:\n", 1)

func writeText(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

func TestLoadReadsPolicyTextsBesideTheProgram(t *testing.T) {
	dir := t.TempDir()
	infosec := writeText(t, dir, "policies/infosec.md", "# Information Security Policy\n\n1. Protect data.\n")
	aup := writeText(t, dir, "texts/aup.md", "# Acceptable Use Policy\n")
	writeText(t, dir, "program.yaml", twoPolicies)

	p, err := Load(filepath.Join(dir, "program.yaml"), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, pol := range p.Policies {
		got[pol.ID] = pol.TextSHA256
	}
	if want := map[string]string{"infosec": infosec, "aup": aup}; !reflect.DeepEqual(got, want) {
		t.Fatalf("text hashes = %v, want %v", got, want)
	}
}

func TestParseRejectsMissingAndEmptyPolicyTexts(t *testing.T) {
	dir := t.TempDir()
	writeText(t, dir, "texts/aup.md", " \n")
	_, errs := parseWith(t, twoPolicies, Options{Now: now, PolicyDir: dir})
	want := []string{
		"program.yaml:8: policies[infosec].file: no policy text at " + filepath.Join(dir, "policies/infosec.md"),
		"program.yaml:9: policies[aup].file: the policy text at " + filepath.Join(dir, "texts/aup.md") + " is empty",
	}
	if got := lines(errs); !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A registered policy's first version holds the text it was registered from
// and its hash; a later apply with another text does not move them (only a
// change request publishes a version). The text is kept in the version only.
func TestRecordRegistersTheText(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('p-so', 'Sam'), ('p-coo', 'David'), ('p-ceo', 'Maria')`)
	dir := t.TempDir()
	writeText(t, dir, "texts/aup.md", "# Acceptable Use Policy\n")
	first := writeText(t, dir, "policies/infosec.md", "# Information Security Policy\n")

	apply := func() {
		t.Helper()
		p, errs := parseWith(t, twoPolicies, Options{Now: now, PolicyDir: dir})
		if errs != nil {
			t.Fatal(errs)
		}
		if _, err := Record(ctx, db.App, p, "p-so", []map[string]string{}); err != nil {
			t.Fatal(err)
		}
	}
	versionHash := func() (string, string) {
		t.Helper()
		var v struct {
			Version string `db:"version"`
			Hash    string `db:"content_sha256"`
		}
		if err := db.App.Get(&v, `SELECT version, content_sha256 FROM policy_versions WHERE policy_id = 'infosec'`); err != nil {
			t.Fatal(err)
		}
		var current string
		db.App.Get(&current, `SELECT content_sha256 FROM policies WHERE id = 'infosec'`)
		if current != v.Hash {
			t.Errorf("policies.content_sha256 = %q, version's = %q", current, v.Hash)
		}
		return v.Version, v.Hash
	}

	body := func() string {
		t.Helper()
		var body, kept string
		if err := db.App.Get(&body, `SELECT body FROM policy_versions WHERE policy_id = 'infosec'`); err != nil {
			t.Fatal(err)
		}
		if err := db.App.Get(&kept, `SELECT registered_text FROM policies WHERE id = 'infosec'`); err != nil {
			t.Fatal(err)
		}
		if kept != "" {
			t.Errorf("policies.registered_text = %q after registration, want it cleared", kept)
		}
		return body
	}

	apply()
	version, hash := versionHash()
	if hash != first {
		t.Fatalf("registered version %s hash = %q, want %q", version, hash, first)
	}
	if got := body(); got != "# Information Security Policy\n" {
		t.Fatalf("registered version %s body = %q, want the file's text", version, got)
	}
	writeText(t, dir, "policies/infosec.md", "# Information Security Policy\n\nEdited outside a change request.\n")
	apply()
	if v2, h2 := versionHash(); v2 != version || h2 != first {
		t.Fatalf("after a second apply: %s %q, want %s %q", v2, h2, version, first)
	}
	if got := body(); got != "# Information Security Policy\n" {
		t.Fatalf("after a second apply: body = %q, want the text registered first", got)
	}
	if _, err := db.App.Exec(`UPDATE policies SET registered_text = 'other text' WHERE id = 'infosec'`); err == nil {
		t.Fatal("the application set a registered policy's text")
	}
}
