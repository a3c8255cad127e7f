package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// MediaTypePDF is the one type accepted for now: a report or certificate as
// a PDF, recognised by its content.
const MediaTypePDF = "application/pdf"

// pdfMagic starts every PDF file (ISO 32000-1, 7.5.2: the header line).
var pdfMagic = []byte("%PDF-")

// Refusals of Spool; nothing is kept for a refused file.
var (
	ErrNotPDF   = errors.New("evidence: the file is not a PDF")
	ErrTooLarge = errors.New("evidence: the file is larger than accepted")
)

// Spooled is a received file held in a temporary file until it is stored.
type Spooled struct {
	File
	path string
}

// Reader reads the spooled content from its start.
func (s *Spooled) Reader() (io.ReadCloser, error) { return os.Open(s.path) }

// Remove deletes the temporary file.
func (s *Spooled) Remove() error { return os.Remove(s.path) }

// Spool reads r into a temporary file in dir (empty: the system's), hashing
// it as it goes, refusing content that is not a PDF (by its first bytes,
// whatever its name or declared type) and content over max bytes; it stops
// reading at max+1 bytes, so an oversize body is never read whole. A refused
// file leaves nothing behind.
func Spool(r io.Reader, max int64, dir string) (*Spooled, error) {
	head := make([]byte, len(pdfMagic))
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if !bytes.Equal(head[:n], pdfMagic) {
		return nil, ErrNotPDF
	}
	tmp, err := os.CreateTemp(dir, "evidence-*")
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		tmp.Close()
		if !keep {
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	w := io.MultiWriter(tmp, h)
	if _, err := w.Write(head); err != nil {
		return nil, err
	}
	rest, err := io.Copy(w, io.LimitReader(r, max-int64(n)+1))
	if err != nil {
		return nil, err
	}
	size := int64(n) + rest
	if size > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	keep = true
	return &Spooled{File: File{SHA256: hex.EncodeToString(h.Sum(nil)), Size: size, MediaType: MediaTypePDF}, path: tmp.Name()}, nil
}
