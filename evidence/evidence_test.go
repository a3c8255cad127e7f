package evidence_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/evidence"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// countingReader is an endless PDF-looking body that counts what was read.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "%PDF-"[min(r.n+int64(i), 4)]
	}
	r.n += int64(len(p))
	return len(p), nil
}

// Spool takes a PDF up to the limit, refuses a non-PDF by its content and
// an oversize body after reading just past the limit, and leaves no file
// behind for a refusal.
func TestSpool(t *testing.T) {
	dir := t.TempDir()
	content := "%PDF-1.7 exactly"
	f, err := evidence.Spool(strings.NewReader(content), int64(len(content)), dir)
	sum := sha256.Sum256([]byte(content))
	if err != nil || f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(content)) || f.MediaType != evidence.MediaTypePDF {
		t.Fatalf("spool at the limit: %+v, %v", f, err)
	}
	f.Remove()
	if _, err := evidence.Spool(strings.NewReader("\x89PNG\r\n\x1a\n"), 100, dir); !errors.Is(err, evidence.ErrNotPDF) {
		t.Errorf("PNG: %v, want ErrNotPDF", err)
	}
	if _, err := evidence.Spool(strings.NewReader("%PD"), 100, dir); !errors.Is(err, evidence.ErrNotPDF) {
		t.Errorf("3 bytes: %v, want ErrNotPDF", err)
	}
	endless := &countingReader{}
	if _, err := evidence.Spool(endless, 1<<20, dir); !errors.Is(err, evidence.ErrTooLarge) {
		t.Errorf("endless body: %v, want ErrTooLarge", err)
	}
	if endless.n > 1<<20+64<<10 {
		t.Errorf("read %d bytes of an endless body with a 1 MiB limit", endless.n)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("refused files left %d temporary files", len(left))
	}
}

// The same file sent twice is one file with two uploads; the database checks
// the key is the content's SHA-256, and keeps files: the application may not
// change or delete them, the owner may not within seven years.
func TestPostgresStoreIsWriteOnce(t *testing.T) {
	db := testenv.Postgres(t)
	store := &evidence.Postgres{DB: db.App}
	ctx := context.Background()
	var first evidence.Stored
	for i, uploader := range []string{"vendor-contact:v-acme", "olga"} {
		f, err := evidence.Spool(strings.NewReader("%PDF-1.7 the report"), 1<<20, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s, err := store.Put(ctx, f, evidence.Upload{Subject: "vendor-review/v-acme/2026", Uploader: uploader, Filename: "r.pdf"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = s
		} else if s.SHA256 != first.SHA256 || s.ID == first.ID {
			t.Errorf("second upload %+v, first %+v: want the same file, another upload", s, first)
		}
	}
	var files, uploads int
	db.Owner.Get(&files, `SELECT count(*) FROM evidence_files`)
	db.Owner.Get(&uploads, `SELECT count(*) FROM evidence_uploads`)
	if files != 1 || uploads != 2 {
		t.Errorf("%d files, %d uploads; want 1 and 2", files, uploads)
	}
	rc, f, err := store.Open(ctx, first.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	if string(b) != "%PDF-1.7 the report" || f.Size != int64(len(b)) {
		t.Errorf("opened %q (%+v)", b, f)
	}
	if _, _, err := store.Open(ctx, strings.Repeat("0", 64)); !errors.Is(err, evidence.ErrNotFound) {
		t.Errorf("open unknown: %v", err)
	}
	for who, stmt := range map[string]string{
		"app update":     `UPDATE evidence_files SET media_type = 'text/plain'`,
		"app delete":     `DELETE FROM evidence_uploads`,
		"forged hash":    `INSERT INTO evidence_files (sha256, size, media_type, content) VALUES (repeat('a', 64), 3, 'application/pdf', 'abc')`,
		"wrong size":     `INSERT INTO evidence_files (sha256, size, media_type, content) VALUES (encode(sha256('abc'), 'hex'), 4, 'application/pdf', 'abc')`,
		"owner update":   `UPDATE evidence_files SET media_type = 'text/plain'`,
		"owner delete":   `DELETE FROM evidence_files`,
		"owner truncate": `TRUNCATE evidence_uploads CASCADE`,
	} {
		conn := db.App
		if strings.HasPrefix(who, "owner") {
			conn = db.Owner
		}
		if _, err := conn.Exec(stmt); err == nil {
			t.Errorf("%s: allowed", who)
		}
	}
}
