package evidence

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/audit"
)

// Postgres keeps files in evidence_files (bytea; schema 0011: write-once,
// the SHA-256 checked by the database, retained 7 years) and uploads in
// evidence_uploads.
type Postgres struct {
	DB *sqlx.DB
}

var _ Store = (*Postgres)(nil)

// Put stores the file unless its content is already stored, records the
// upload and writes its audit entry, in one transaction.
func (p *Postgres) Put(ctx context.Context, f *Spooled, up Upload) (Stored, error) {
	r, err := f.Reader()
	if err != nil {
		return Stored{}, err
	}
	content, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return Stored{}, err
	}
	tx, err := p.DB.BeginTxx(ctx, nil)
	if err != nil {
		return Stored{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO evidence_files (sha256, size, media_type, content) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sha256) DO NOTHING`, f.SHA256, f.Size, f.MediaType, content); err != nil {
		return Stored{}, fmt.Errorf("store evidence file %s: %w", f.SHA256, err)
	}
	s := Stored{File: f.File, Upload: up}
	if err := tx.QueryRowxContext(ctx, `INSERT INTO evidence_uploads (sha256, subject, uploader, filename) VALUES ($1, $2, $3, $4)
		RETURNING id, uploaded_at`, f.SHA256, up.Subject, up.Uploader, up.Filename).Scan(&s.ID, &s.UploadedAt); err != nil {
		return Stored{}, fmt.Errorf("record evidence upload: %w", err)
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: up.Uploader, Action: "evidence.uploaded", Subject: up.Subject, Controls: up.Controls,
		Detail: map[string]any{"sha256": f.SHA256, "size": f.Size, "media_type": f.MediaType, "filename": up.Filename, "upload_id": s.ID},
		Key:    fmt.Sprintf("evidence-upload/%d", s.ID)}); err != nil {
		return Stored{}, err
	}
	return s, tx.Commit()
}

// Open reads a stored file.
func (p *Postgres) Open(ctx context.Context, sha256 string) (io.ReadCloser, File, error) {
	var row struct {
		File
		Content []byte `db:"content"`
	}
	err := p.DB.QueryRowxContext(ctx, `SELECT sha256, size, media_type, content FROM evidence_files WHERE sha256 = $1`, sha256).
		Scan(&row.SHA256, &row.Size, &row.MediaType, &row.Content)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, File{}, ErrNotFound
	}
	if err != nil {
		return nil, File{}, fmt.Errorf("open evidence file %s: %w", sha256, err)
	}
	return io.NopCloser(bytes.NewReader(row.Content)), row.File, nil
}

// UploadedFor reports whether the file sha256 was uploaded for subject, so
// a page serves only the evidence of what it is about.
func UploadedFor(ctx context.Context, db sqlx.QueryerContext, subject, sha256 string) (bool, error) {
	var ok bool
	err := sqlx.GetContext(ctx, db, &ok, `SELECT EXISTS (SELECT FROM evidence_uploads WHERE subject = $1 AND sha256 = $2)`, subject, sha256)
	return ok, err
}

// UploadsOf lists the uploads recorded for subject, oldest first.
func UploadsOf(ctx context.Context, db sqlx.QueryerContext, subject string) ([]Stored, error) {
	var rows []struct {
		ID         int64     `db:"id"`
		SHA256     string    `db:"sha256"`
		Size       int64     `db:"size"`
		MediaType  string    `db:"media_type"`
		Uploader   string    `db:"uploader"`
		Filename   string    `db:"filename"`
		UploadedAt time.Time `db:"uploaded_at"`
	}
	if err := sqlx.SelectContext(ctx, db, &rows, `SELECT u.id, u.sha256, f.size, f.media_type, u.uploader, u.filename, u.uploaded_at
		FROM evidence_uploads u JOIN evidence_files f USING (sha256) WHERE u.subject = $1 ORDER BY u.id`, subject); err != nil {
		return nil, fmt.Errorf("uploads of %s: %w", subject, err)
	}
	out := make([]Stored, len(rows))
	for i, r := range rows {
		out[i] = Stored{File: File{SHA256: r.SHA256, Size: r.Size, MediaType: r.MediaType}, ID: r.ID, UploadedAt: r.UploadedAt,
			Upload: Upload{Subject: subject, Uploader: r.Uploader, Filename: r.Filename}}
	}
	return out, nil
}
