package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
)

// Checkpoint pins the audit log's end at a moment: the id and hash of its
// newest row and how many rows it had, signed with an Ed25519 key the
// database never holds. Anyone with the public key can check the log against
// it: rows deleted from the end, or the whole chain recomputed, no longer
// match what was signed.
type Checkpoint struct {
	LastID    int64     `json:"last_id"`
	LastHash  []byte    `json:"last_hash"` // base64 in JSON, like the key and signature
	Count     int64     `json:"count"`
	SignedAt  time.Time `json:"signed_at"`
	PublicKey []byte    `json:"public_key"` // informational: check with the key you hold
	Signature []byte    `json:"signature"`
}

// Message is what the signature covers.
func (c Checkpoint) Message() []byte {
	return fmt.Appendf(nil, "complyflow-audit-checkpoint-v1\nlast_id=%d\nlast_hash=%x\ncount=%d\nsigned_at=%s\n",
		c.LastID, c.LastHash, c.Count, c.SignedAt.UTC().Format(time.RFC3339Nano))
}

// Check verifies the signature with pub.
func (c Checkpoint) Check(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, c.Message(), c.Signature) {
		return fmt.Errorf("the checkpoint signed %s for row %d does not verify with the public key given (forged or altered, or signed with another key)",
			c.SignedAt.UTC().Format(time.RFC3339), c.LastID)
	}
	return nil
}

// StoredCheckpoints reads audit_checkpoints, oldest first.
func StoredCheckpoints(ctx context.Context, q sqlx.QueryerContext) ([]Checkpoint, error) {
	rows, err := q.QueryxContext(ctx, `
		SELECT last_id, last_hash, row_count, signed_at, public_key, signature FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		var c Checkpoint
		if err := rows.Scan(&c.LastID, &c.LastHash, &c.Count, &c.SignedAt, &c.PublicKey, &c.Signature); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ReadCheckpointFile reads a file of checkpoints, one JSON object a line. A
// file that does not exist holds none.
func ReadCheckpointFile(path string) ([]Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Checkpoint
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("%s:%d: not a checkpoint: %v", path, line, err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// AppendCheckpointFile adds c to the file as one JSON line, creating the
// file (mode 0600) and its directory if need be.
func AppendCheckpointFile(path string, c Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteCheckpoint verifies the log (against every checkpoint in the table and
// in file), and only if it verifies signs a checkpoint of what it saw, stores
// it in audit_checkpoints and appends it to file (if file is not empty). The
// CLI's `audit checkpoint` and the worker's daily checkpoint both call it.
func WriteCheckpoint(ctx context.Context, db *sqlx.DB, key ed25519.PrivateKey, file string) (Checkpoint, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Checkpoint{}, errors.New("audit checkpoint: no Ed25519 signing key")
	}
	pub := key.Public().(ed25519.PublicKey)
	var fromFile []Checkpoint
	if file != "" {
		var err error
		if fromFile, err = ReadCheckpointFile(file); err != nil {
			return Checkpoint{}, err
		}
	}
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return Checkpoint{}, err
	}
	defer tx.Rollback()
	res, err := Verify(ctx, tx, Options{PublicKey: pub, Checkpoints: fromFile})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("not signing a log that does not verify: %w", err)
	}
	c := Checkpoint{LastID: res.LastID, LastHash: res.LastHash, Count: int64(res.Rows), PublicKey: pub}
	if c.LastHash == nil {
		c.LastHash = []byte{}
	}
	if err := tx.GetContext(ctx, &c.SignedAt, `SELECT clock_timestamp()`); err != nil {
		return Checkpoint{}, err
	}
	c.SignedAt = c.SignedAt.UTC().Truncate(time.Microsecond)
	c.Signature = ed25519.Sign(key, c.Message())
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO audit_checkpoints (last_id, last_hash, row_count, signed_at, public_key, signature)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.LastID, c.LastHash, c.Count, c.SignedAt, []byte(c.PublicKey), c.Signature); err != nil {
		return Checkpoint{}, err
	}
	if err := tx.Commit(); err != nil {
		return Checkpoint{}, err
	}
	if file != "" {
		if err := AppendCheckpointFile(file, c); err != nil {
			return c, fmt.Errorf("checkpoint stored in the database but not in %s: %w", file, err)
		}
	}
	return c, nil
}
