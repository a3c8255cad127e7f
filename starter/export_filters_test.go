package main

import (
	"archive/zip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/testenv"
)

// csvActions is records.csv's control, actor and action per record.
func csvActions(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[2]+" "+r[4]+" "+r[5])
	}
	return out
}

// `export records|pack --process P --person ID` (issue 16 item 3): the
// records of the controls whose processes list P, the records ID made; an
// unknown process or person is a usage error naming the flag and what is
// known, and writes no file.
func TestExportRecordsByProcessAndPerson(t *testing.T) {
	db := testenv.Postgres(t)
	seedExport(t, db)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('eve', 'eve@example.com', 'Eve Employee');
		UPDATE controls SET processes = '{policy-change-request}' WHERE id = 'policy-version-control';
		UPDATE controls SET processes = '{offboarding, vendor-review}' WHERE id = 'privacy';`)
	if err := audit.Write(context.Background(), db.App, audit.Entry{Actor: "eve", Action: "offboarding.access-removed", Subject: "offboarding/lee",
		Controls: []string{"privacy"}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	from, to := time.Now().UTC().Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	period := []string{"--from", from, "--to", to}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--process", "offboarding"}, []string{"privacy sam task.completed", "privacy eve offboarding.access-removed"}},
		{[]string{"--process", "policy-change-request"}, []string{"policy-version-control sam policy.published", "policy-version-control sam task.completed"}},
		{[]string{"--person", "eve"}, []string{"privacy eve offboarding.access-removed"}},
		{[]string{"--person", "sam", "--process", "vendor-review"}, []string{"privacy sam task.completed"}},
		{[]string{"--person", "eve", "--framework", "soc2"}, nil},
	} {
		file := filepath.Join(dir, "records.csv")
		code, out, errOut := starterIn(t, db, append(append([]string{"export", "records", "--out", file}, period...), tc.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d %q %q", tc.args, code, out, errOut)
		}
		if got := csvActions(t, file); strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
			t.Errorf("%v:\n got %v\nwant %v", tc.args, got, tc.want)
		}
	}

	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	keyFile := filepath.Join(dir, "audit_signing_key")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(priv.Seed())+"\n"), 0o600)
	t.Setenv("AUDIT_SIGNING_KEY", keyFile)
	t.Setenv("AUDIT_CHECKPOINT_FILE", filepath.Join(dir, "checkpoints.jsonl"))
	packFile := filepath.Join(dir, "pack.zip")
	if code, out, errOut := starterIn(t, db, append([]string{"export", "pack", "--out", packFile, "--person", "eve", "--process", "offboarding"}, period...)...); code != 0 || !strings.Contains(out, ": 1 completion records") {
		t.Fatalf("export pack --person eve: %d %q %q", code, out, errOut)
	}
	zr, err := zip.OpenReader(packFile)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	mf, err := zr.Open("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Process, Person string }
	if err := json.NewDecoder(mf).Decode(&m); err != nil || m.Process != "offboarding" || m.Person != "eve" {
		t.Errorf("manifest: %+v %v; want process offboarding, person eve", m, err)
	}

	refused := filepath.Join(dir, "refused.csv")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--process", "offboard"}, `--process "offboard": no control in the program lists it (the program's processes: offboarding, policy-change-request, vendor-review)`},
		{[]string{"--person", "nobody"}, `--person "nobody": not a person in the directory`},
	} {
		code, _, errOut := starterIn(t, db, append(append([]string{"export", "records", "--out", refused}, period...), tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
		if _, err := os.Stat(refused); !os.IsNotExist(err) {
			t.Errorf("%v: wrote %s (%v)", tc.args, refused, err)
		}
	}
}
