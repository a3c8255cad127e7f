package pack_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/completion"
	"github.com/complyflow/complyflow/completion/internal/fixture"
	"github.com/complyflow/complyflow/completion/pack"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type entry struct {
	name    string
	content []byte
}

func unzip(t *testing.T, b []byte) []entry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []entry
	for _, f := range zr.File {
		rc, _ := f.Open()
		c, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{f.Name, c})
	}
	return out
}

func rezip(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func build(t *testing.T) ([]byte, ed25519.PrivateKey) {
	t.Helper()
	db := testenv.Postgres(t)
	p := fixture.Seed(t, db)
	ctx := context.Background()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	cp, err := audit.WriteCheckpoint(ctx, db.Owner, key, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := completion.Resolve(ctx, db.App, completion.Filter{From: p.From, To: p.To})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	m, err := pack.Build(ctx, db.App, &buf, pack.Options{Scope: s, Checkpoint: cp, Key: key, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if m.Records != 5 {
		t.Fatalf("%d records in the pack, want 5", m.Records)
	}
	return buf.Bytes(), key
}

// A pack holds the records, the evidence file they name, the policy and
// program versions in force and the audit slice, and verifies with the
// public key.
func TestPackHoldsTheEvidenceAndVerifies(t *testing.T) {
	b, key := build(t)
	names := map[string][]byte{}
	for _, e := range unzip(t, b) {
		names[e.name] = e.content
	}
	for _, want := range []string{pack.RecordsCSV, pack.RecordsXLSX, pack.AuditSlice, pack.CheckpointName, pack.ManifestName, pack.SignatureName,
		"evidence/index.csv", "policies/index.csv", "policies/access/2022.1.md"} {
		if _, ok := names[want]; !ok {
			t.Errorf("%s: not in the pack", want)
		}
	}
	var evidence, program int
	for name, c := range names {
		if strings.HasPrefix(name, "evidence/") && name != "evidence/index.csv" {
			evidence++
			if !bytes.Equal(c, fixture.PDF) {
				t.Errorf("%s: not the uploaded file", name)
			}
		}
		if strings.HasPrefix(name, "program/") {
			program++
		}
	}
	if evidence != 1 || program != 1 {
		t.Errorf("%d evidence files and %d program files, want 1 and 1", evidence, program)
	}
	rep, err := pack.Verify(bytes.NewReader(b), int64(len(b)), key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatalf("an untouched pack does not verify: %v", err)
	}
	if rep.AuditRows < 6 || len(rep.Manifest.Files) != len(names)-2 {
		t.Errorf("verified %d audit rows and %d files", rep.AuditRows, len(rep.Manifest.Files))
	}
}

// A pack unpacked and zipped again (`zip -r`, which adds an entry per
// folder) still verifies.
func TestVerifyAcceptsARezippedPackWithFolderEntries(t *testing.T) {
	b, key := build(t)
	es := unzip(t, b)
	seen := map[string]bool{}
	var withFolders []entry
	for _, e := range es {
		if dir, _, ok := strings.Cut(e.name, "/"); ok && !seen[dir] {
			seen[dir] = true
			withFolders = append(withFolders, entry{dir + "/", nil})
		}
		withFolders = append(withFolders, e)
	}
	again := rezip(t, withFolders)
	if _, err := pack.Verify(bytes.NewReader(again), int64(len(again)), key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("a re-zipped pack with folder entries: %v", err)
	}
}

// Each kind of tampering is caught and named.
func TestVerifyCatchesTampering(t *testing.T) {
	b, key := build(t)
	pub := key.Public().(ed25519.PublicKey)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	edit := func(f func([]entry) []entry) []byte { return rezip(t, f(unzip(t, b))) }
	replace := func(name string, f func([]byte) []byte) func([]entry) []entry {
		return func(es []entry) []entry {
			for i := range es {
				if es[i].name == name {
					es[i].content = f(es[i].content)
				}
			}
			return es
		}
	}
	for _, tc := range []struct {
		name string
		pack []byte
		pub  ed25519.PublicKey
		want string
	}{
		{"changed file", edit(replace(pack.RecordsCSV, func(c []byte) []byte { return bytes.Replace(c, []byte("sam"), []byte("sum"), 1) })),
			pub, "records.csv: sha256"},
		{"removed file", edit(func(es []entry) []entry {
			var out []entry
			for _, e := range es {
				if !strings.HasPrefix(e.name, "evidence/") || e.name == "evidence/index.csv" {
					out = append(out, e)
				}
			}
			return out
		}), pub, "listed in the manifest but missing from the pack (removed)"},
		{"added file", edit(func(es []entry) []entry { return append(es, entry{"evidence/extra.pdf", fixture.PDF}) }),
			pub, "evidence/extra.pdf: in the pack but not in the manifest (added)"},
		{"changed manifest", edit(replace(pack.ManifestName, func(c []byte) []byte { return bytes.Replace(c, []byte(`"records": 5`), []byte(`"records": 4`), 1) })),
			pub, "manifest.json: its signature (manifest.sig) does not verify"},
		{"bad signature", edit(replace(pack.SignatureName, func(c []byte) []byte { return ed25519.Sign(otherKey, []byte("something else")) })),
			pub, "manifest.json: its signature (manifest.sig) does not verify"},
		{"another key", b, otherKey.Public().(ed25519.PublicKey), "does not verify with the public key given"},
		{"manifest removed", edit(func(es []entry) []entry {
			var out []entry
			for _, e := range es {
				if e.name != pack.ManifestName {
					out = append(out, e)
				}
			}
			return out
		}), pub, "manifest.json: missing from the pack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pack.Verify(bytes.NewReader(tc.pack), int64(len(tc.pack)), tc.pub)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
