package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func TestParseAuditSigningKey(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	want := ed25519.NewKeyFromSeed(seed)
	file := filepath.Join(t.TempDir(), "key")
	os.WriteFile(file, []byte(hex.EncodeToString(seed)+"\n"), 0o600)
	for _, v := range []string{
		hex.EncodeToString(seed),
		base64.StdEncoding.EncodeToString(seed),
		base64.StdEncoding.EncodeToString(want),
		file,
	} {
		k, err := ParseAuditSigningKey(v)
		if err != nil || !k.Equal(want) {
			t.Errorf("%q: %v", v, err)
		}
	}
	for _, v := range []string{"short", hex.EncodeToString(seed[:16]), "/no/such/file"} {
		if _, err := ParseAuditSigningKey(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

// The embedded mode generates its key once, mode 0600, and keeps it.
func TestEmbeddedModeGeneratesTheAuditKeyOnce(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	c := Config{DevMail: true}
	k1, err := c.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, DevAuditSigningKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	k2, err := c.AuditKey()
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("second read: %v, same key %v", err, k1.Equal(k2))
	}
	if _, err := (Config{}).AuditKey(); err == nil {
		t.Fatal("outside the embedded mode an unset AUDIT_SIGNING_KEY was accepted")
	}
}

func TestEmbeddedModeDefaultsTheCheckpointFile(t *testing.T) {
	t.Setenv("SMTP_ADDR", "")
	t.Setenv("AUDIT_CHECKPOINT_FILE", "")
	c, err := FromEnv()
	if err != nil || c.AuditCheckpointFile != DevAuditCheckpointFile {
		t.Fatalf("%q, %v", c.AuditCheckpointFile, err)
	}
	t.Setenv("SMTP_ADDR", "mail.example.com:25")
	t.Setenv("LINK_SIGNING_KEY", "a-random-link-key-0123456789")
	t.Setenv("PORTAL_ADDR", "127.0.0.1:8080")
	if c, err := FromEnv(); err != nil || c.AuditCheckpointFile != "" {
		t.Fatalf("with SMTP_ADDR: %q, %v", c.AuditCheckpointFile, err)
	}
}
