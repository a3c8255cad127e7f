// The auditor's downloads (issue 16 items 4 and 5): the records of a filter
// as CSV or XLSX, and the signed evidence pack, the same files `starter
// export records|pack` writes. Each streams from one read-only snapshot a
// page of records at a time (completion.Scope.Each), so memory stays flat
// whatever the period's size.

package main

import (
	"embed"
	"html/template"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/completion"
	"github.com/complyflow/complyflow/completion/pack"
)

//go:embed templates/layout.html templates/auditor*.html
var auditorTemplateFiles embed.FS

var auditorTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"utc":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"frameworks": func() []string { return completion.Frameworks },
}).ParseFS(auditorTemplateFiles, "templates/layout.html", "templates/auditor*.html"))

func (s *Server) renderAuditor(w http.ResponseWriter, status int, name string, page any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := auditorTemplates.ExecuteTemplate(w, name, page); err != nil {
		s.Logger.Error("render "+name, "err", err)
	}
}

// serveAttachment starts a download named name.
func serveAttachment(w http.ResponseWriter, mediaType, name string) {
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
}

// downloadName is the file name of an export of f.
func downloadName(f completion.Filter, ext string) string {
	parts := []string{"complyflow", f.From.Format(time.DateOnly), f.To.Format(time.DateOnly)}
	for _, p := range []string{f.Framework, f.Requirement, f.Control, f.Process, f.Person} {
		if p != "" {
			parts = append(parts, strings.NewReplacer(" ", "", "/", "-", ".", "_").Replace(p))
		}
	}
	return strings.Join(parts, "-") + "." + ext
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func (s *Server) recordsExport(w http.ResponseWriter, r *http.Request, p Principal) {
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "xlsx" {
		http.Error(w, "format "+format+": csv or xlsx", http.StatusBadRequest)
		return
	}
	q, ok := s.recordsRequest(w, r, p)
	if !ok {
		return
	}
	err := s.inSnapshot(r.Context(), p, func(tx *sqlx.Tx) error {
		sc, err := completion.Resolve(r.Context(), tx, q.Filter)
		if err != nil {
			return errBadQuery{err}
		}
		detail := filterDetail(q.Filter)
		detail["format"] = format
		if !s.auditRead(w, r, p, "auditor.exported_records", detail) {
			return nil
		}
		if format == "xlsx" {
			serveAttachment(w, xlsxType, downloadName(q.Filter, "xlsx"))
			_, err = sc.WriteXLSX(r.Context(), tx, w)
		} else {
			serveAttachment(w, "text/csv; charset=utf-8", downloadName(q.Filter, "csv"))
			_, err = sc.WriteCSV(r.Context(), tx, w)
		}
		if err != nil {
			// The download has begun: it ends short, and the log says why.
			s.Logger.Error("stream an export", "format", format, "err", err)
		}
		return nil
	})
	if err != nil {
		s.answerReadError(w, "export completion records", err)
	}
}

// recordsPack is `starter export pack` from the portal: a fresh signed
// checkpoint of the audit log (written on DB: the checkpoint is the log's,
// not the auditor's), then the pack built from one snapshot taken after it,
// so the pack's audit slice reaches the checkpoint's row.
func (s *Server) recordsPack(w http.ResponseWriter, r *http.Request, p Principal) {
	q, ok := s.recordsRequest(w, r, p)
	if !ok {
		return
	}
	key, err := s.Config.AuditKey()
	if err != nil {
		s.unavailable(w, "read the audit signing key", err)
		return
	}
	var sc completion.Scope
	if err := s.inScope(r.Context(), p, func(tx *sqlx.Tx) (err error) {
		if sc, err = completion.Resolve(r.Context(), tx, q.Filter); err != nil {
			return errBadQuery{err}
		}
		return nil
	}); err != nil {
		s.answerReadError(w, "read the controls", err)
		return
	}
	if !s.auditRead(w, r, p, "auditor.exported_pack", filterDetail(q.Filter)) {
		return
	}
	cp, err := audit.WriteCheckpoint(r.Context(), s.DB, key, s.Config.AuditCheckpointFile)
	if err != nil {
		s.unavailable(w, "sign an audit checkpoint", err)
		return
	}
	err = s.inSnapshot(r.Context(), p, func(tx *sqlx.Tx) error {
		serveAttachment(w, "application/zip", downloadName(q.Filter, "zip"))
		if _, err := pack.Build(r.Context(), tx, w, pack.Options{Scope: sc, Checkpoint: cp, Key: key, CreatedAt: cp.SignedAt}); err != nil {
			// The download has begun: it ends short (and does not verify).
			s.Logger.Error("stream an evidence pack", "err", err)
		}
		return nil
	})
	if err != nil {
		s.unavailable(w, "build an evidence pack", err)
	}
}
