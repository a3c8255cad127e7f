// Package audit checks the audit log's hash chain: each row's hash covers
// every column of the row and the hash of the row before it, so an edited,
// deleted or reordered row breaks the chain from that row on. Signed
// checkpoints (checkpoint.go) pin the chain's end, so a truncated tail or a
// chain recomputed from scratch shows too.
package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

// Break is the first row whose hash, link, time or checkpoint does not verify.
type Break struct {
	ID     int64
	Reason string
}

func (b *Break) Error() string { return fmt.Sprintf("audit_log row %d: %s", b.ID, b.Reason) }

// Row is one audit_log row as the hash sees it.
type Row struct {
	ID             int64
	At             time.Time
	Actor          string
	Action         string
	Subject        string
	ControlID      string
	Detail         string // jsonb's text form
	IdempotencyKey sql.NullString
	PrevHash       []byte
	Hash           []byte
}

// Hash is the row's hash as the trigger computes it (audit_log_hash_v2 in
// schema/0006_audit_chain.sql), computed here without the database.
func Hash(r Row) []byte {
	var b bytes.Buffer
	field := func(s string) {
		binary.Write(&b, binary.BigEndian, uint32(len(s)))
		b.WriteString(s)
	}
	b.WriteString("complyflow-audit-v2")
	binary.Write(&b, binary.BigEndian, uint32(len(r.PrevHash)))
	b.Write(r.PrevHash)
	field(strconv.FormatInt(r.ID, 10))
	field(r.At.UTC().Format("2006-01-02T15:04:05.000000Z"))
	field(r.Actor)
	field(r.Action)
	field(r.Subject)
	field(r.ControlID)
	field(r.Detail)
	if r.IdempotencyKey.Valid {
		b.WriteByte(1)
		field(r.IdempotencyKey.String)
	} else {
		b.WriteByte(0)
	}
	sum := sha256.Sum256(b.Bytes())
	return sum[:]
}

// Options says which checkpoints Verify checks the log against.
type Options struct {
	// PublicKey verifies the checkpoints' signatures. Without it checkpoints
	// are not checked (and Verify says so in Result.Unchecked).
	PublicKey ed25519.PublicKey
	// Checkpoints are checked as well as those in audit_checkpoints (e.g. the
	// ones read from the checkpoint file an auditor holds).
	Checkpoints []Checkpoint
	// SkipTable leaves out the audit_checkpoints table.
	SkipTable bool
}

// Result is what Verify saw.
type Result struct {
	Rows     int
	LastID   int64
	LastHash []byte
	// Checkpoints is how many signed checkpoints were checked; Newest the
	// newest of them (nil if none).
	Checkpoints int
	Newest      *Checkpoint
	// Unchecked is the number of checkpoints found but not checked because
	// no public key was given.
	Unchecked int
}

// Verify walks the whole log in id order and checks each row's hash (computed
// here, not by the database), its link to the row before, that its `at` does
// not go back in time or lie in the future, and every signed checkpoint: the
// row it names must be there with the hash it signed, with exactly the number
// of rows it counted up to it, none stamped after it was signed. It returns a
// *Break naming the first row that fails.
func Verify(ctx context.Context, db sqlx.QueryerContext, opts Options) (Result, error) {
	var res Result
	cps := append([]Checkpoint(nil), opts.Checkpoints...)
	if !opts.SkipTable {
		stored, err := StoredCheckpoints(ctx, db)
		if err != nil {
			return res, err
		}
		cps = append(cps, stored...)
	}
	if opts.PublicKey == nil {
		res.Unchecked = len(cps)
		cps = nil
	}
	for _, c := range cps {
		if err := c.Check(opts.PublicKey); err != nil {
			return res, err
		}
	}
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].LastID < cps[j].LastID })
	res.Checkpoints = len(cps)
	if len(cps) > 0 {
		newest := cps[len(cps)-1]
		res.Newest = &newest
	}

	var now time.Time
	if err := sqlx.GetContext(ctx, db, &now, `SELECT clock_timestamp()`); err != nil {
		return res, err
	}
	rows, err := db.QueryxContext(ctx, `
		SELECT id, at, actor, action, subject, control_id, detail::text, idempotency_key, prev_hash, hash
		FROM audit_log ORDER BY id`)
	if err != nil {
		return res, err
	}
	defer rows.Close()

	next := 0 // the first checkpoint not yet passed
	var prev Row
	havePrev := false
	// passed checks the checkpoints whose last row lies before id (or all of
	// them at the end of the log, id 0).
	passed := func(id int64) error {
		for ; next < len(cps) && (id == 0 || cps[next].LastID < id); next++ {
			c := cps[next]
			if c.Count == 0 && c.LastID == 0 {
				continue // signed an empty log
			}
			if !havePrev || prev.ID != c.LastID {
				end := "the log is empty"
				if havePrev {
					end = fmt.Sprintf("the rows before it end at row %d", prev.ID)
				}
				return &Break{ID: c.LastID, Reason: fmt.Sprintf("is missing: the checkpoint signed %s counted %d rows up to it, and %s (rows were deleted)",
					c.SignedAt.UTC().Format(time.RFC3339), c.Count, end)}
			}
		}
		return nil
	}
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.ID, &r.At, &r.Actor, &r.Action, &r.Subject, &r.ControlID, &r.Detail, &r.IdempotencyKey, &r.PrevHash, &r.Hash); err != nil {
			return res, err
		}
		if err := passed(r.ID); err != nil {
			return res, err
		}
		want := []byte{}
		if havePrev {
			want = prev.Hash
		}
		switch {
		case !bytes.Equal(r.Hash, Hash(r)):
			return res, &Break{ID: r.ID, Reason: "content does not match its hash (edited)"}
		case !bytes.Equal(r.PrevHash, want):
			return res, &Break{ID: r.ID, Reason: "does not follow the row before it (a row was removed or reordered)"}
		case havePrev && r.At.Before(prev.At):
			return res, &Break{ID: r.ID, Reason: fmt.Sprintf("its time %s is before row %d's %s (a forged at: the database stamps each row in order)",
				r.At.UTC().Format(time.RFC3339Nano), prev.ID, prev.At.UTC().Format(time.RFC3339Nano))}
		case r.At.After(now.Add(time.Minute)):
			return res, &Break{ID: r.ID, Reason: fmt.Sprintf("its time %s is in the future (a forged at)", r.At.UTC().Format(time.RFC3339Nano))}
		}
		res.Rows++
		// The earliest checkpoint that covers the row was signed after it was
		// written (checkpoints are read in order of the rows they end at).
		if next < len(cps) {
			if c := cps[next]; r.At.After(c.SignedAt.Add(time.Second)) {
				return res, &Break{ID: r.ID, Reason: fmt.Sprintf("its time %s is after the checkpoint signed %s that covers it (a forged at)",
					r.At.UTC().Format(time.RFC3339Nano), c.SignedAt.UTC().Format(time.RFC3339Nano))}
			}
		}
		for ; next < len(cps) && cps[next].LastID == r.ID; next++ {
			c := cps[next]
			if !bytes.Equal(r.Hash, c.LastHash) {
				return res, &Break{ID: r.ID, Reason: fmt.Sprintf("its hash is not the one the checkpoint signed %s holds for it: the log up to here was rewritten and its chain recomputed",
					c.SignedAt.UTC().Format(time.RFC3339))}
			}
			if int64(res.Rows) != c.Count {
				return res, &Break{ID: r.ID, Reason: fmt.Sprintf("%d rows up to here, but the checkpoint signed %s counted %d (rows were removed or added)",
					res.Rows, c.SignedAt.UTC().Format(time.RFC3339), c.Count)}
			}
		}
		prev, havePrev = r, true
		res.LastID, res.LastHash = r.ID, r.Hash
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	if err := passed(0); err != nil {
		return res, err
	}
	return res, nil
}
