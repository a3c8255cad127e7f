package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/testenv"
)

// rechainSQL recomputes every row's link and hash, as the table owner could.
const rechainSQL = `DO $$
DECLARE r record; prev bytea := '\x'; h bytea;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        h := audit_log_hash_v2(prev, r.id, r.at, r.actor, r.action, r.subject, r.control_id, r.detail, r.idempotency_key);
        UPDATE audit_log SET prev_hash = prev, hash = h WHERE id = r.id;
        prev := h;
    END LOOP;
END $$`

// An operator signs a checkpoint; an auditor holding only the public key and
// the checkpoint file then sees each kind of tampering, named by its row.
func TestAuditVerifyReportsTamperingAgainstTheCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper []string
		want   string
	}{
		{"truncated tail", []string{`ALTER TABLE audit_log DISABLE TRIGGER audit_log_before_delete`, `DELETE FROM audit_log WHERE id > 3`}, "audit_log row 5: is missing"},
		{"every row deleted", []string{`ALTER TABLE audit_log DISABLE TRIGGER audit_log_before_delete`, `DELETE FROM audit_log`}, "audit_log row 5: is missing"},
		{"edited row", []string{`UPDATE audit_log SET detail = '{"n": 99}' WHERE id = 2`}, "audit_log row 2: content does not match its hash"},
		{"re-chained", []string{`UPDATE audit_log SET actor = 'mallory' WHERE id = 2`, rechainSQL}, "audit_log row 5: its hash is not the one the checkpoint"},
		{"forged at", []string{`UPDATE audit_log SET at = '2019-03-01' WHERE id = 4`, rechainSQL}, "audit_log row 4: its time 2019-03-01"},
		{"checkpoints deleted too", []string{`ALTER TABLE audit_log DISABLE TRIGGER audit_log_before_delete`, `DELETE FROM audit_log WHERE id > 3`, `DELETE FROM audit_checkpoints`}, "audit_log row 5: is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := testenv.Postgres(t)
			dir := t.TempDir()
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			keyFile := filepath.Join(dir, "audit_signing_key")
			os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(priv.Seed())+"\n"), 0o600)
			cpFile := filepath.Join(dir, "checkpoints.jsonl")
			t.Setenv("AUDIT_SIGNING_KEY", keyFile)
			t.Setenv("AUDIT_CHECKPOINT_FILE", cpFile)
			for _, a := range []string{"one", "two", "three", "four", "five"} {
				db.App.MustExec(`INSERT INTO audit_log (actor, action, detail) VALUES ('tester', $1, '{"n": 1}')`, a)
			}
			code, out, errOut := starterIn(t, db, "audit", "checkpoint")
			if code != 0 || !strings.Contains(out, "row 5, 5 rows") {
				t.Fatalf("checkpoint: %d %q %q", code, out, errOut)
			}
			code, pub, errOut := starterIn(t, db, "audit", "pubkey")
			if code != 0 || strings.TrimSpace(pub) != base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)) {
				t.Fatalf("pubkey: %d %q %q", code, pub, errOut)
			}

			// The auditor: no signing key, the public key and the file.
			t.Setenv("AUDIT_SIGNING_KEY", "")
			t.Setenv("AUDIT_CHECKPOINT_FILE", "")
			offline := []string{"audit", "verify", "--pubkey", strings.TrimSpace(pub), "--checkpoint", cpFile}
			code, out, errOut = starterIn(t, db, offline...)
			if code != 0 || !strings.Contains(out, "audit log intact: 5 rows verified, 2 signed checkpoints checked") {
				t.Fatalf("intact: %d %q %q", code, out, errOut)
			}
			for _, q := range tc.tamper {
				db.Owner.MustExec(q)
			}
			code, out, errOut = starterIn(t, db, offline...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("after tampering: exit %d, out %q, stderr %q; want %q", code, out, errOut, tc.want)
			}
		})
	}
}

func TestAuditCheckpointNeedsAKeyOutsideEmbeddedMode(t *testing.T) {
	db := testenv.Postgres(t)
	t.Setenv("SMTP_ADDR", "127.0.0.1:1")
	t.Setenv("LINK_SIGNING_KEY", "a-random-link-key-0123456789")
	t.Setenv("AUDIT_SIGNING_KEY", "")
	code, _, errOut := starterIn(t, db, "audit", "checkpoint")
	if code == 0 || !strings.Contains(errOut, "AUDIT_SIGNING_KEY: required") {
		t.Fatalf("exit %d, %q", code, errOut)
	}
}
