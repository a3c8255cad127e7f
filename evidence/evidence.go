// Package evidence keeps the files that evidence a control (a vendor's SOC 2
// report, an ISO 27001 certificate): write-once by SHA-256, so the same file
// sent twice is one file, with its size and type, and every upload of it
// recorded with what it was for, who sent it and when. Postgres is the
// default store (one backup holds everything); Store is the seam an object
// store would fill.
package evidence

import (
	"context"
	"errors"
	"io"
	"time"
)

// File is a stored file's facts.
type File struct {
	SHA256    string
	Size      int64
	MediaType string
}

// Upload is one sending of a file: what it evidences and who sent it.
type Upload struct {
	Subject  string // what it is for, e.g. a vendor review's workflow ID
	Uploader string // a person ID, or "vendor-contact:<vendor>"
	Filename string // as the sender named it; informative only
	// Controls are the controls the upload evidences, for its audit entry.
	Controls []string
}

// Stored is an upload as recorded.
type Stored struct {
	File
	ID         int64
	Upload     Upload
	UploadedAt time.Time
}

// Store keeps evidence files write-once.
type Store interface {
	// Put stores the spooled file (once per content) and records the
	// upload, with its audit entry, in one transaction.
	Put(ctx context.Context, f *Spooled, up Upload) (Stored, error)
	// Open reads a stored file's content; ErrNotFound when there is none.
	Open(ctx context.Context, sha256 string) (io.ReadCloser, File, error)
}

// ErrNotFound is Open's answer for a SHA-256 no file has.
var ErrNotFound = errors.New("evidence: no such file")
