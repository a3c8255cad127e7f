// Package pack builds and checks evidence packs (issue 16, item 5): a zip of
// the completion records (CSV and XLSX), every evidence file they name, the
// policy and program versions in force, and the audit-log slice with the
// newest signed checkpoint, listed in manifest.json with each file's SHA-256
// and size; manifest.sig is the Ed25519 signature (raw, 64 bytes) of
// manifest.json made with the audit signing key. Anyone holding the public
// key can check a pack offline: with Verify, or with sha256sum and openssl
// (README, "Checking an evidence pack offline").
package pack

import (
	"time"
)

// Format names the pack layout manifest.json describes.
const Format = "complyflow-evidence-pack-v1"

// The pack's fixed entries.
const (
	ManifestName   = "manifest.json"
	SignatureName  = "manifest.sig"
	RecordsCSV     = "records.csv"
	RecordsXLSX    = "records.xlsx"
	AuditSlice     = "audit/audit_log.jsonl"
	CheckpointName = "audit/checkpoint.json"
)

// Manifest lists every other file in the pack.
type Manifest struct {
	Format    string    `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Framework string    `json:"framework,omitempty"`
	Control   string    `json:"control,omitempty"`
	Process   string    `json:"process,omitempty"`
	Person    string    `json:"person,omitempty"`
	Records   int       `json:"records"`
	// PublicKey is informational: check the signature with the key you hold.
	PublicKey []byte `json:"public_key"`
	Files     []File `json:"files"`
}

// File is one entry of the pack.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"` // hex, as sha256sum prints it
	Size   int64  `json:"size"`
}
