package pack

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/complyflow/complyflow/audit"
)

// Report is what Verify found in a pack that checks out.
type Report struct {
	Manifest  Manifest
	AuditRows int
}

// Problems is every reason a pack does not verify, one per line.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "\n") }

// Verify checks a pack against pub, the audit key's public half the auditor
// holds: the manifest's signature; every file listed is there with its
// SHA-256 and size, and no file is there that is not listed; the checkpoint's
// signature; and the audit-log slice's chain, each row's hash recomputed and
// linked to the one before, ending at the row the checkpoint signed.
func Verify(r io.ReaderAt, size int64, pub ed25519.PublicKey) (Report, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Report{}, errors.New("no Ed25519 public key to check the pack with")
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return Report{}, fmt.Errorf("not a zip file: %w", err)
	}
	entries := map[string]*zip.File{}
	var problems Problems
	for _, f := range zr.File {
		// A folder entry holds nothing: `zip -r` of an unpacked pack adds
		// one per folder, and an empty folder adds no evidence.
		if strings.HasSuffix(f.Name, "/") && f.UncompressedSize64 == 0 {
			continue
		}
		if _, dup := entries[f.Name]; dup {
			problems = append(problems, fmt.Sprintf("%s: in the pack twice", f.Name))
		}
		entries[f.Name] = f
	}
	manifest, err := readEntry(entries, ManifestName)
	if err != nil {
		return Report{}, append(problems, err.Error())
	}
	sig, err := readEntry(entries, SignatureName)
	if err != nil {
		return Report{}, append(problems, err.Error())
	}
	if !ed25519.Verify(pub, manifest, sig) {
		return Report{}, append(problems, fmt.Sprintf("%s: its signature (%s) does not verify with the public key given: the manifest was changed, or signed with another key",
			ManifestName, SignatureName))
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return Report{}, append(problems, fmt.Sprintf("%s: %v", ManifestName, err))
	}
	if m.Format != Format {
		return Report{}, append(problems, fmt.Sprintf("%s: format %q, not %q", ManifestName, m.Format, Format))
	}
	listed := map[string]bool{ManifestName: true, SignatureName: true}
	for _, f := range m.Files {
		listed[f.Path] = true
		if p := checkFile(entries[f.Path], f); p != "" {
			problems = append(problems, p)
		}
	}
	var added []string
	for name := range entries {
		if !listed[name] {
			added = append(added, name)
		}
	}
	slices.Sort(added)
	for _, name := range added {
		problems = append(problems, fmt.Sprintf("%s: in the pack but not in the manifest (added)", name))
	}
	if len(problems) > 0 {
		return Report{}, problems
	}
	rows, err := checkAuditSlice(entries, pub)
	if err != nil {
		return Report{}, Problems{err.Error()}
	}
	return Report{Manifest: m, AuditRows: rows}, nil
}

func readEntry(entries map[string]*zip.File, name string) ([]byte, error) {
	f, ok := entries[name]
	if !ok {
		return nil, fmt.Errorf("%s: missing from the pack", name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return b, nil
}

// checkFile says what is wrong with a listed file, or "".
func checkFile(zf *zip.File, want File) string {
	if zf == nil {
		return fmt.Sprintf("%s: listed in the manifest but missing from the pack (removed)", want.Path)
	}
	rc, err := zf.Open()
	if err != nil {
		return fmt.Sprintf("%s: %v", want.Path, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return fmt.Sprintf("%s: %v (changed)", want.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 || n != want.Size {
		return fmt.Sprintf("%s: sha256 %s and %d bytes, the manifest says %s and %d bytes (changed)", want.Path, got, n, want.SHA256, want.Size)
	}
	return ""
}

// checkAuditSlice checks the checkpoint's signature and the slice's chain up
// to the row it signed, and returns how many rows the slice has.
func checkAuditSlice(entries map[string]*zip.File, pub ed25519.PublicKey) (int, error) {
	b, err := readEntry(entries, CheckpointName)
	if err != nil {
		return 0, err
	}
	var cp audit.Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return 0, fmt.Errorf("%s: %v", CheckpointName, err)
	}
	if err := cp.Check(pub); err != nil {
		return 0, fmt.Errorf("%s: %v", CheckpointName, err)
	}
	zf, ok := entries[AuditSlice]
	if !ok {
		return 0, fmt.Errorf("%s: missing from the pack", AuditSlice)
	}
	rc, err := zf.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var last *sliceRow
	n := 0
	for sc.Scan() {
		n++
		var r sliceRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return n, fmt.Errorf("%s:%d: %v", AuditSlice, n, err)
		}
		if last != nil && (r.ID <= last.ID || !bytes.Equal(r.PrevHash, last.Hash)) {
			return n, fmt.Errorf("%s:%d: row %d does not follow row %d in the chain", AuditSlice, n, r.ID, last.ID)
		}
		if !bytes.Equal(audit.Hash(r.audit()), r.Hash) {
			return n, fmt.Errorf("%s:%d: row %d's hash does not match its contents", AuditSlice, n, r.ID)
		}
		last = &r
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("%s: %v", AuditSlice, err)
	}
	if last != nil && (last.ID != cp.LastID || !bytes.Equal(last.Hash, cp.LastHash)) {
		return n, fmt.Errorf("%s: ends at row %d, but the checkpoint signed row %d with hash %x", AuditSlice, last.ID, cp.LastID, cp.LastHash)
	}
	return n, nil
}
