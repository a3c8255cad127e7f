package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DevAuditSigningKeyFile is where the embedded mode keeps the audit signing
// key it generated, when AUDIT_SIGNING_KEY is not set.
const DevAuditSigningKeyFile = ".data/audit_signing_key"

// ParseAuditSigningKey reads an Ed25519 private key from v: a path to a file
// holding one, or the key itself, as the 32-byte seed or the 64-byte private
// key, in hex or base64.
func ParseAuditSigningKey(v string) (ed25519.PrivateKey, error) {
	v = strings.TrimSpace(v)
	if b, err := os.ReadFile(v); err == nil {
		v = strings.TrimSpace(string(b))
	} else if strings.ContainsAny(v, `/\`) && !isBase64(v) {
		return nil, err
	}
	raw, err := hex.DecodeString(v)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(v); err != nil {
			return nil, errors.New("not a file, nor an Ed25519 key in hex or base64")
		}
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		k := ed25519.PrivateKey(raw)
		if !ed25519.NewKeyFromSeed(k.Seed()).Equal(k) {
			return nil, errors.New("the 64-byte key's public half does not match its seed")
		}
		return k, nil
	}
	return nil, fmt.Errorf("an Ed25519 key is a 32-byte seed or a 64-byte private key, not %d bytes", len(raw))
}

func isBase64(v string) bool {
	_, err := base64.StdEncoding.DecodeString(v)
	return err == nil
}

// AuditKey is the key that signs audit checkpoints: AUDIT_SIGNING_KEY, or in
// the embedded mode the key in DevAuditSigningKeyFile, generated (mode 0600)
// the first time. Outside the embedded mode an unset key is an error.
func (c Config) AuditKey() (ed25519.PrivateKey, error) {
	if c.AuditSigningKey != "" {
		k, err := ParseAuditSigningKey(c.AuditSigningKey)
		if err != nil {
			return nil, fmt.Errorf("AUDIT_SIGNING_KEY: %w", err)
		}
		return k, nil
	}
	if !c.DevMail {
		return nil, errors.New("AUDIT_SIGNING_KEY: required to sign audit checkpoints when SMTP_ADDR is set; " +
			"give a file holding an Ed25519 seed (e.g. `openssl rand -base64 32 > key; chmod 600 key`) or the seed itself, and keep it away from the database")
	}
	path := DevAuditSigningKeyFile
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		// Written whole to a file of its own, then linked into place: a
		// process starting at the same moment sees no key or the whole key,
		// and the first link wins.
		tmp, err := os.CreateTemp(filepath.Dir(path), ".audit_signing_key-*")
		if err != nil {
			return nil, fmt.Errorf("generating %s: %w", path, err)
		}
		defer os.Remove(tmp.Name())
		_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(seed) + "\n")
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), 0o600)
		}
		if err == nil {
			if err = os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
				err = nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("generating %s: %w", path, err)
		}
	}
	k, err := ParseAuditSigningKey(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
