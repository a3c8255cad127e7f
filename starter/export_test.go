package main

import (
	"archive/zip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/internal/testenv"
)

// seedExport is a program with one control mapped to soc2 CC5.3 and two
// records of it, and a record of a control soc2 does not map.
func seedExport(t *testing.T, db *testenv.DB) {
	t.Helper()
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES ('access', 'Access Control Policy', 'sam', 'policies/access.md', '2022-06-01');
		INSERT INTO controls (id, title) VALUES ('policy-version-control', 'Policy version control'), ('privacy', 'Privacy');
		INSERT INTO framework_requirements (framework, ref) VALUES ('soc2', 'CC5.3'), ('gdpr', 'Art. 5(2)');
		INSERT INTO control_requirements (control_id, framework, ref) VALUES ('policy-version-control', 'soc2', 'CC5.3'), ('privacy', 'gdpr', 'Art. 5(2)');
		INSERT INTO control_policies (control_id, policy_id) VALUES ('policy-version-control', 'access');
		INSERT INTO program_versions (content_hash, file, content, obligation_ids, applied_by) VALUES ('h', 'program.yaml', 'controls: []', '{}', 'sam');`)
	for _, e := range []audit.Entry{
		{Actor: "sam", Action: "policy.published", Subject: "cr-1", Controls: []string{"policy-version-control"}, Detail: map[string]any{"policy": "access"}},
		{Actor: "sam", Action: "task.completed", Subject: "task-1", Controls: []string{"policy-version-control", "privacy"}},
	} {
		if err := audit.Write(context.Background(), db.App, e); err != nil {
			t.Fatal(err)
		}
	}
}

// `export records` by framework and requirement, as CSV and XLSX, then a
// pack that `export verify` passes with the public key alone and fails once
// a file is added; bad flags are refused with the flag named.
func TestExportRecordsPackAndVerify(t *testing.T) {
	db := testenv.Postgres(t)
	seedExport(t, db)
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	keyFile := filepath.Join(dir, "audit_signing_key")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(priv.Seed())+"\n"), 0o600)
	t.Setenv("AUDIT_SIGNING_KEY", keyFile)
	t.Setenv("AUDIT_CHECKPOINT_FILE", "")
	from, to := time.Now().UTC().Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	period := []string{"--from", from, "--to", to}

	csvFile := filepath.Join(dir, "records.csv")
	code, out, errOut := starterIn(t, db, append([]string{"export", "records", "--framework", "soc2", "--control", "CC5.3", "--format", "csv", "--out", csvFile}, period...)...)
	if code != 0 || !strings.Contains(out, "2 completion records for 1 controls") {
		t.Fatalf("export records csv: %d %q %q", code, out, errOut)
	}
	f, _ := os.Open(csvFile)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 3 || rows[1][5] != "policy.published" || rows[1][8] != "access 2022.1" || rows[2][3] != "soc2 CC5.3" {
		t.Fatalf("records.csv: %v %q", err, rows)
	}
	xlsxFile := filepath.Join(dir, "records.xlsx")
	if code, out, errOut := starterIn(t, db, append([]string{"export", "records", "--format", "xlsx", "--out", xlsxFile}, period...)...); code != 0 || !strings.Contains(out, "3 completion records for 2 controls") {
		t.Fatalf("export records xlsx: %d %q %q", code, out, errOut)
	}

	packFile := filepath.Join(dir, "pack.zip")
	if code, out, errOut := starterIn(t, db, append([]string{"export", "pack", "--out", packFile}, period...)...); code != 0 || !strings.Contains(out, "3 completion records") {
		t.Fatalf("export pack: %d %q %q", code, out, errOut)
	}
	pub := base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	t.Setenv("AUDIT_SIGNING_KEY", "")
	t.Setenv("SMTP_ADDR", "127.0.0.1:1") // not the embedded mode: no key to fall back on
	t.Setenv("LINK_SIGNING_KEY", "a-random-link-key-0123456789")
	if code, out, errOut := starterIn(t, db, "export", "verify", "--pubkey", pub, packFile); code != 0 || !strings.Contains(out, "verifies") {
		t.Fatalf("export verify: %d %q %q", code, out, errOut)
	}

	// The same pack with one file added.
	tampered := filepath.Join(dir, "tampered.zip")
	in, _ := zip.OpenReader(packFile)
	outFile, _ := os.Create(tampered)
	zw := zip.NewWriter(outFile)
	for _, e := range in.File {
		zw.Copy(e)
	}
	w, _ := zw.Create("evidence/planted.pdf")
	w.Write([]byte("%PDF-1.4 planted"))
	zw.Close()
	outFile.Close()
	in.Close()
	if code, _, errOut := starterIn(t, db, "export", "verify", "--pubkey", pub, tampered); code != 1 || !strings.Contains(errOut, "evidence/planted.pdf: in the pack but not in the manifest (added)") {
		t.Fatalf("verify of a tampered pack: exit %d, %q", code, errOut)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "records", "--to", to, "--out", csvFile}, "--from: required"},
		{[]string{"export", "records", "--from", "2026-13-01", "--to", to, "--out", csvFile}, `--from "2026-13-01": not a date`},
		{append([]string{"export", "records", "--format", "pdf", "--out", csvFile}, period...), `--format "pdf": csv or xlsx`},
		{append([]string{"export", "records", "--control", "nope", "--out", csvFile}, period...), `control "nope": not in the program`},
		{append([]string{"export", "records", "--framework", "iso", "--out", csvFile}, period...), `framework "iso"`},
	} {
		if code, _, errOut := starterIn(t, db, tc.args...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
