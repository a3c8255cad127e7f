package pack

import (
	"archive/zip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/completion"
)

// Options is what a pack holds and how it is signed.
type Options struct {
	Scope completion.Scope
	// Checkpoint is the newest signed checkpoint (audit.WriteCheckpoint just
	// before building): the audit-log slice runs from the period's first row
	// to the row it signed.
	Checkpoint audit.Checkpoint
	Key        ed25519.PrivateKey // the audit signing key
	CreatedAt  time.Time
}

// builder writes one pack: each entry through a hash, listed as it goes.
type builder struct {
	ctx context.Context
	q   sqlx.QueryerContext
	zw  *zip.Writer
	m   Manifest
}

// counter is an entry's SHA-256 and size, taken while it is written.
type counter struct {
	h hash.Hash
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (b *builder) add(name string, write func(io.Writer) error) error {
	w, err := b.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: b.m.CreatedAt})
	if err != nil {
		return err
	}
	c := &counter{h: sha256.New()}
	if err := write(io.MultiWriter(w, c)); err != nil {
		return fmt.Errorf("pack %s: %w", name, err)
	}
	b.m.Files = append(b.m.Files, File{Path: name, SHA256: hex.EncodeToString(c.h.Sum(nil)), Size: c.n})
	return nil
}

// Build writes the pack to w and returns its manifest.
func Build(ctx context.Context, q sqlx.QueryerContext, w io.Writer, opts Options) (Manifest, error) {
	if len(opts.Key) != ed25519.PrivateKeySize {
		return Manifest{}, errors.New("evidence pack: no Ed25519 signing key")
	}
	f := opts.Scope.Filter
	b := &builder{ctx: ctx, q: q, zw: zip.NewWriter(w), m: Manifest{Format: Format, CreatedAt: opts.CreatedAt.UTC(),
		From: f.From.UTC(), To: f.To.UTC(), Framework: f.Framework, Control: f.Control,
		Process: f.Process, Person: f.Person, PublicKey: opts.Key.Public().(ed25519.PublicKey)}}
	if err := b.add(RecordsCSV, func(w io.Writer) (err error) {
		b.m.Records, err = opts.Scope.WriteCSV(ctx, q, w)
		return err
	}); err != nil {
		return Manifest{}, err
	}
	if err := b.add(RecordsXLSX, func(w io.Writer) error {
		_, err := opts.Scope.WriteXLSX(ctx, q, w)
		return err
	}); err != nil {
		return Manifest{}, err
	}
	for _, step := range []func(completion.Scope) error{b.evidenceFiles, b.policyVersions, b.programVersions} {
		if err := step(opts.Scope); err != nil {
			return Manifest{}, err
		}
	}
	if err := b.auditSlice(f.From, opts.Checkpoint); err != nil {
		return Manifest{}, err
	}
	if err := b.add(CheckpointName, func(w io.Writer) error { return json.NewEncoder(w).Encode(opts.Checkpoint) }); err != nil {
		return Manifest{}, err
	}
	body, err := json.MarshalIndent(b.m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	body = append(body, '\n')
	for _, e := range []struct {
		name    string
		content []byte
	}{{ManifestName, body}, {SignatureName, ed25519.Sign(opts.Key, body)}} {
		w, err := b.zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: b.m.CreatedAt})
		if err != nil {
			return Manifest{}, err
		}
		if _, err := w.Write(e.content); err != nil {
			return Manifest{}, err
		}
	}
	return b.m, b.zw.Close()
}

// evidenceFiles adds every stored file a record in scope names (an upload's
// audit entry carries the file's sha256), and evidence/index.csv saying what
// each one is.
func (b *builder) evidenceFiles(s completion.Scope) error {
	var files []struct {
		SHA256    string         `db:"sha256"`
		Size      int64          `db:"size"`
		MediaType string         `db:"media_type"`
		Names     pq.StringArray `db:"names"`
		Subjects  pq.StringArray `db:"subjects"`
	}
	if err := sqlx.SelectContext(b.ctx, b.q, &files, `
		SELECT f.sha256, f.size, f.media_type,
		       array_agg(DISTINCT u.filename ORDER BY u.filename) AS names, array_agg(DISTINCT u.subject ORDER BY u.subject) AS subjects
		FROM evidence_files f JOIN evidence_uploads u ON u.sha256 = f.sha256
		WHERE f.sha256 IN (SELECT a.detail->>'sha256' FROM audit_log a
		                   WHERE a.control_id = ANY($1) AND a.at >= $2 AND a.at < $3 AND a.detail ? 'sha256'
		                     AND ($4 = '' OR a.actor = $4))
		GROUP BY f.sha256 ORDER BY f.sha256`, pq.Array(s.Controls), s.Filter.From, s.Filter.To, s.Filter.Person); err != nil {
		return fmt.Errorf("read the evidence files: %w", err)
	}
	for _, f := range files {
		if err := b.add("evidence/"+f.SHA256, func(w io.Writer) error {
			var content []byte
			if err := sqlx.GetContext(b.ctx, b.q, &content, `SELECT content FROM evidence_files WHERE sha256 = $1`, f.SHA256); err != nil {
				return err
			}
			_, err := w.Write(content)
			return err
		}); err != nil {
			return err
		}
	}
	return b.add("evidence/index.csv", func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"path", "sha256", "size", "media_type", "filenames", "subjects"})
		for _, f := range files {
			cw.Write([]string{"evidence/" + f.SHA256, f.SHA256, strconv.FormatInt(f.Size, 10), f.MediaType,
				strings.Join(f.Names, "; "), strings.Join(f.Subjects, "; ")})
		}
		cw.Flush()
		return cw.Error()
	})
}

// policyVersions adds the text of every policy version in force at some time
// in the period, and policies/index.csv.
func (b *builder) policyVersions(s completion.Scope) error {
	var versions []struct {
		Policy      string     `db:"policy_id"`
		Version     string     `db:"version"`
		Kind        string     `db:"kind"`
		PublishedAt time.Time  `db:"published_at"`
		Superseded  *time.Time `db:"superseded_at"`
		Hash        string     `db:"content_sha256"`
		Body        string     `db:"body"`
		Reference   string     `db:"reference"`
	}
	if err := sqlx.SelectContext(b.ctx, b.q, &versions, `
		SELECT policy_id, version, kind, published_at, superseded_at, content_sha256, body, reference
		FROM policy_versions WHERE published_at < $2 AND (superseded_at IS NULL OR superseded_at > $1)
		ORDER BY policy_id, year, seq, revision`, s.Filter.From, s.Filter.To); err != nil {
		return fmt.Errorf("read the policy versions: %w", err)
	}
	name := func(policy, version string) string {
		return "policies/" + safeName(policy) + "/" + safeName(version) + ".md"
	}
	for _, v := range versions {
		text := v.Body
		if text == "" {
			text = "The document of this version is kept at: " + v.Reference + "\n"
		}
		if err := b.add(name(v.Policy, v.Version), func(w io.Writer) error {
			_, err := io.WriteString(w, text)
			return err
		}); err != nil {
			return err
		}
	}
	return b.add("policies/index.csv", func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"path", "policy", "version", "kind", "published_at", "superseded_at", "content_sha256", "reference"})
		for _, v := range versions {
			superseded := ""
			if v.Superseded != nil {
				superseded = v.Superseded.UTC().Format(time.RFC3339Nano)
			}
			cw.Write([]string{name(v.Policy, v.Version), v.Policy, v.Version, v.Kind, v.PublishedAt.UTC().Format(time.RFC3339Nano),
				superseded, v.Hash, v.Reference})
		}
		cw.Flush()
		return cw.Error()
	})
}

// programVersions adds the program file in force at the period's start and
// every one applied during it.
func (b *builder) programVersions(s completion.Scope) error {
	var versions []struct {
		ID        int64     `db:"id"`
		Hash      string    `db:"content_hash"`
		File      string    `db:"file"`
		Content   string    `db:"content"`
		AppliedAt time.Time `db:"applied_at"`
	}
	if err := sqlx.SelectContext(b.ctx, b.q, &versions, `
		SELECT id, content_hash, file, content, applied_at FROM program_versions
		WHERE applied_at < $2 AND (applied_at >= $1 OR id = (
			SELECT p.id FROM program_versions p WHERE p.applied_at <= $1 ORDER BY p.applied_at DESC, p.id DESC LIMIT 1))
		ORDER BY applied_at, id`, s.Filter.From, s.Filter.To); err != nil {
		return fmt.Errorf("read the program versions: %w", err)
	}
	for _, v := range versions {
		if err := b.add(fmt.Sprintf("program/%d-%s", v.ID, safeName(path.Base(v.File))), func(w io.Writer) error {
			_, err := io.WriteString(w, v.Content)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// sliceRow is one audit-log row in the pack, every column the hash covers.
type sliceRow struct {
	ID             int64          `json:"id"`
	At             time.Time      `json:"at"`
	Actor          string         `json:"actor"`
	Action         string         `json:"action"`
	Subject        string         `json:"subject"`
	ControlID      string         `json:"control_id"`
	Detail         string         `json:"detail"` // jsonb's text form, as hashed
	IdempotencyKey sql.NullString `json:"-"`
	Key            *string        `json:"idempotency_key"`
	PrevHash       []byte         `json:"prev_hash"`
	Hash           []byte         `json:"hash"`
}

func (r sliceRow) audit() audit.Row {
	key := sql.NullString{}
	if r.Key != nil {
		key = sql.NullString{String: *r.Key, Valid: true}
	}
	return audit.Row{ID: r.ID, At: r.At, Actor: r.Actor, Action: r.Action, Subject: r.Subject, ControlID: r.ControlID,
		Detail: r.Detail, IdempotencyKey: key, PrevHash: r.PrevHash, Hash: r.Hash}
}

// auditSlice adds the audit log from the period's first row to the row the
// checkpoint signed, one JSON object a line, read in chain order (id order
// is time order: the chain trigger stamps `at`, schema/0006).
func (b *builder) auditSlice(from time.Time, cp audit.Checkpoint) error {
	return b.add(AuditSlice, func(w io.Writer) error {
		rows, err := b.q.QueryxContext(b.ctx, `
			SELECT id, at, actor, action, subject, control_id, detail::text, idempotency_key, prev_hash, hash FROM audit_log
			WHERE id >= coalesce((SELECT id FROM audit_log WHERE at >= $1 ORDER BY id LIMIT 1), $2 + 1) AND id <= $2
			ORDER BY id`, from, cp.LastID)
		if err != nil {
			return err
		}
		defer rows.Close()
		enc := json.NewEncoder(w)
		for rows.Next() {
			var r sliceRow
			if err := rows.Scan(&r.ID, &r.At, &r.Actor, &r.Action, &r.Subject, &r.ControlID, &r.Detail, &r.IdempotencyKey, &r.PrevHash, &r.Hash); err != nil {
				return err
			}
			if r.IdempotencyKey.Valid {
				r.Key = &r.IdempotencyKey.String
			}
			r.At = r.At.UTC()
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// safeName keeps a path element to letters, digits, '.', '-' and '_'.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
