package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/complyflow/complyflow/audit"
)

func init() {
	commands["audit"] = command{"audit verify|checkpoint|pubkey: check the audit log's hash chain and signed checkpoints", runAudit}
}

func runAudit(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "audit", []subcommand{
		{"verify", runAuditVerify},
		{"checkpoint", runAuditCheckpoint},
		{"pubkey", runAuditPubkey},
	}, args)
}

func runAuditVerify(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit verify", "audit verify [--checkpoint FILE] [--pubkey KEY]")
	file := fs.String("checkpoint", "", "a checkpoint file (JSON lines) to check the log against as well as audit_checkpoints; default AUDIT_CHECKPOINT_FILE")
	pubFlag := fs.String("pubkey", "", "the Ed25519 public key (base64 or hex, as `audit pubkey` prints it); default: derived from AUDIT_SIGNING_KEY")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	var opts audit.Options
	if *pubFlag != "" {
		if opts.PublicKey, err = parsePublicKey(*pubFlag); err != nil {
			return usagef("--pubkey: %v", err)
		}
	} else if cfg.AuditSigningKey != "" || cfg.DevMail {
		k, err := cfg.AuditKey()
		if err != nil {
			return err
		}
		opts.PublicKey = k.Public().(ed25519.PublicKey)
	}
	if *file == "" {
		*file = cfg.AuditCheckpointFile
	}
	if *file != "" {
		if opts.Checkpoints, err = audit.ReadCheckpointFile(*file); err != nil {
			return err
		}
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	res, err := audit.Verify(ctx, db, opts)
	if err != nil {
		return fmt.Errorf("%d rows verified, then: %w", res.Rows, err)
	}
	fmt.Fprintf(env.Stdout, "audit log intact: %d rows verified", res.Rows)
	if res.Newest != nil {
		fmt.Fprintf(env.Stdout, ", %d signed checkpoints checked, the newest (%s) at row %d of %d rows",
			res.Checkpoints, res.Newest.SignedAt.UTC().Format(time.RFC3339), res.Newest.LastID, res.Newest.Count)
	}
	fmt.Fprintln(env.Stdout)
	switch {
	case res.Unchecked > 0:
		fmt.Fprintf(env.Stderr, "warning: %d checkpoints not checked: no public key (give --pubkey)\n", res.Unchecked)
	case res.Newest == nil:
		fmt.Fprintln(env.Stderr, "warning: no signed checkpoint found: rows deleted from the end of the log would not show (run `starter audit checkpoint`)")
	}
	return nil
}

func runAuditCheckpoint(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit checkpoint", "audit checkpoint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, _, err := signCheckpoint(ctx, env)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "checkpoint signed %s: row %d, %d rows, hash %x\n", c.SignedAt.Format(time.RFC3339Nano), c.LastID, c.Count, c.LastHash)
	if cfg, _ := env.Config(); cfg.AuditCheckpointFile != "" { // read by signCheckpoint already
		fmt.Fprintf(env.Stdout, "stored in audit_checkpoints and appended to %s\n", cfg.AuditCheckpointFile)
	}
	return nil
}

func runAuditPubkey(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit pubkey", "audit pubkey")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	key, err := cfg.AuditKey()
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)))
	return nil
}

// parsePublicKey reads an Ed25519 public key in base64 or hex.
func parsePublicKey(v string) (ed25519.PublicKey, error) {
	v = strings.TrimSpace(v)
	b, err := hex.DecodeString(v)
	if err != nil {
		if b, err = base64.StdEncoding.DecodeString(v); err != nil {
			return nil, fmt.Errorf("not base64 or hex")
		}
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("an Ed25519 public key is %d bytes, not %d", ed25519.PublicKeySize, len(b))
	}
	return ed25519.PublicKey(b), nil
}

// signCheckpoint verifies the audit log and signs a checkpoint of it with
// the audit key (AUDIT_SIGNING_KEY), appended to AUDIT_CHECKPOINT_FILE; the
// key is returned for whatever else the caller signs (an evidence pack).
func signCheckpoint(ctx context.Context, env *Env) (audit.Checkpoint, ed25519.PrivateKey, error) {
	cfg, err := env.Config()
	if err != nil {
		return audit.Checkpoint{}, nil, err
	}
	key, err := cfg.AuditKey()
	if err != nil {
		return audit.Checkpoint{}, nil, err
	}
	db, err := env.DB(ctx)
	if err != nil {
		return audit.Checkpoint{}, nil, err
	}
	c, err := audit.WriteCheckpoint(ctx, db, key, cfg.AuditCheckpointFile)
	return c, key, err
}
