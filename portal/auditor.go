// The auditor's portal (issue 16 items 2 and 3): completion records per
// control, framework, process and person for a period, a record's detail with its evidence
// files, exports and the evidence pack (auditor_export.go), and population
// lists for sampling (auditor_population.go). Auditors and officers read
// them through the portal's read-only role (inScope); an auditor's account
// is time-boxed (the session ends with its window) and its audit period
// clamps every query: a request outside it is refused (403, audited). Every
// view and export is written to the audit log, on DB: the portal's role
// cannot write.

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/completion"
)

// recordsPageSize is how many records a portal or API page shows.
const recordsPageSize = 100

// recordsQuery is a request's filter and position, checked.
type recordsQuery struct {
	Filter completion.Filter
	After  completion.Cursor
	// Allowed is an auditor's audit period, when Bounded.
	Allowed period
	Bounded bool
}

// period is [From, To), whole UTC days.
type period struct{ From, To time.Time }

func (p period) contains(q period) bool { return !q.From.Before(p.From) && !q.To.After(p.To) }

// errBadQuery is a request's mistake, shown to the person (400).
type errBadQuery struct{ error }

// auditPeriod is the audit period an auditor's account is limited to; ok is
// false for an officer, and for an auditor whose account names none.
func (s *Server) auditPeriod(ctx context.Context, p Principal) (period, bool, error) {
	if p.Role != RoleAuditor {
		return period{}, false, nil
	}
	a, err := accounts.Lookup(ctx, s.DB, p.PersonID)
	if err != nil {
		return period{}, false, err
	}
	out := period{From: time.Time{}, To: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	if a.AuditFrom.Valid {
		if out.From, err = time.Parse(time.DateOnly, a.AuditFrom.String); err != nil {
			return period{}, false, err
		}
	}
	if a.AuditTo.Valid {
		last, err := time.Parse(time.DateOnly, a.AuditTo.String)
		if err != nil {
			return period{}, false, err
		}
		out.To = last.AddDate(0, 0, 1) // the audit period's last day is included
	}
	return out, a.AuditFrom.Valid || a.AuditTo.Valid, nil
}

// requestedPeriod reads from= and to= (YYYY-MM-DD, to excluded) or year=;
// without them it is the auditor's audit period, else this year.
func requestedPeriod(v url.Values, audit period, bounded bool) (period, error) {
	if y := v.Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 1970 || n > 9998 {
			return period{}, fmt.Errorf("year %q: not a year", y)
		}
		return period{time.Date(n, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(n+1, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	from, to := v.Get("from"), v.Get("to")
	if from == "" && to == "" {
		if bounded {
			return audit, nil
		}
		y := time.Now().UTC().Year()
		return period{time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	var out period
	for _, d := range []struct {
		name, v string
		t       *time.Time
	}{{"from", from, &out.From}, {"to", to, &out.To}} {
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return period{}, fmt.Errorf("%s %q: want a date YYYY-MM-DD", d.name, d.v)
		}
		*d.t = t
	}
	if !out.From.Before(out.To) {
		return period{}, fmt.Errorf("from %s must be before to %s (to is the day after the period)", from, to)
	}
	return out, nil
}

// recordsRequest reads and checks the request's filter. On false it has
// answered: 400 for a bad filter, 403 (audited) for a period outside the
// auditor's, 503 when the account could not be read.
func (s *Server) recordsRequest(w http.ResponseWriter, r *http.Request, p Principal) (recordsQuery, bool) {
	v := r.URL.Query()
	allowed, bounded, err := s.auditPeriod(r.Context(), p)
	if err != nil {
		s.unavailable(w, "read the auditor's account", err)
		return recordsQuery{}, false
	}
	want, err := requestedPeriod(v, allowed, bounded)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return recordsQuery{}, false
	}
	if bounded && !allowed.contains(want) {
		s.refuseOutsidePeriod(w, r, p, allowed)
		return recordsQuery{}, false
	}
	after, err := completion.ParseCursor(v.Get("after"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return recordsQuery{}, false
	}
	return recordsQuery{After: after, Allowed: allowed, Bounded: bounded, Filter: completion.Filter{From: want.From, To: want.To,
		Framework: v.Get("framework"), Requirement: v.Get("requirement"), Control: v.Get("control"),
		Process: v.Get("process"), Person: v.Get("person")}}, true
}

// refuseOutsidePeriod answers 403 to an auditor asking about time outside
// their audit period, and audits it.
func (s *Server) refuseOutsidePeriod(w http.ResponseWriter, r *http.Request, p Principal, allowed period) {
	err := audit.Write(r.Context(), s.DB, audit.Entry{Actor: p.PersonID, Action: "portal.refused", Subject: r.Method + " " + r.URL.Path,
		Detail: map[string]string{"role": string(p.Role), "reason": "outside the audit period", "query": r.URL.RawQuery,
			"audit_from": allowed.From.Format(time.DateOnly), "audit_to": allowed.To.AddDate(0, 0, -1).Format(time.DateOnly),
			"address": clientAddress(r)}})
	if err != nil {
		s.Logger.Error("audit a refused request", "err", err)
	}
	http.Error(w, fmt.Sprintf("Your audit period is %s to %s; this asks for time outside it.",
		allowed.From.Format(time.DateOnly), allowed.To.AddDate(0, 0, -1).Format(time.DateOnly)), http.StatusForbidden)
}

// auditRead writes who read what (every view and export is audited) before
// it is served: a read that cannot be audited is not served.
func (s *Server) auditRead(w http.ResponseWriter, r *http.Request, p Principal, action string, detail map[string]string) bool {
	if detail == nil {
		detail = map[string]string{}
	}
	detail["role"], detail["address"] = string(p.Role), clientAddress(r)
	if err := audit.Write(r.Context(), s.DB, audit.Entry{Actor: p.PersonID, Action: action, Subject: r.URL.RequestURI(), Detail: detail}); err != nil {
		s.unavailable(w, "audit a read", err)
		return false
	}
	return true
}

// recordsResult is one page of records and what it was for.
type recordsResult struct {
	Scope   completion.Scope
	Records []completion.Record
	Next    completion.Cursor
}

// readRecords is one page of q's records as p may read them; a filter the
// program does not know is an errBadQuery.
func (s *Server) readRecords(ctx context.Context, p Principal, q recordsQuery) (recordsResult, error) {
	var out recordsResult
	err := s.inScope(ctx, p, func(tx *sqlx.Tx) error {
		var err error
		if out.Scope, err = completion.Resolve(ctx, tx, q.Filter); err != nil {
			return errBadQuery{err}
		}
		out.Records, out.Next, err = out.Scope.Page(ctx, tx, q.After, recordsPageSize)
		return err
	})
	return out, err
}

// answerReadError is 400 for the person's mistake, 503 otherwise.
func (s *Server) answerReadError(w http.ResponseWriter, what string, err error) {
	var bad errBadQuery
	if errors.As(err, &bad) {
		http.Error(w, bad.Error(), http.StatusBadRequest)
		return
	}
	s.unavailable(w, what, err)
}

// filterDetail is a filter as the audit log records it.
func filterDetail(f completion.Filter) map[string]string {
	return map[string]string{"from": f.From.Format(time.DateOnly), "to": f.To.Format(time.DateOnly),
		"framework": f.Framework, "requirement": f.Requirement, "control": f.Control, "process": f.Process, "person": f.Person}
}

// recordsPage is what auditor_records.html shows.
type recordsPage struct {
	Filter   completion.Filter
	From, To string
	Records  []completion.Record
	Controls []string
	// NextQuery and Query are URL queries this package encoded.
	NextQuery template.URL
	Query     template.URL
	Bounded   bool
	Allowed   period
}

func (s *Server) records(w http.ResponseWriter, r *http.Request, p Principal) {
	q, ok := s.recordsRequest(w, r, p)
	if !ok {
		return
	}
	res, err := s.readRecords(r.Context(), p, q)
	if err != nil {
		s.answerReadError(w, "read completion records", err)
		return
	}
	detail := filterDetail(q.Filter)
	detail["after"], detail["records"] = q.After.String(), strconv.Itoa(len(res.Records))
	if !s.auditRead(w, r, p, "auditor.viewed_records", detail) {
		return
	}
	page := recordsPage{Filter: res.Scope.Filter, Records: res.Records, Controls: res.Scope.Controls,
		From: q.Filter.From.Format(time.DateOnly), To: q.Filter.To.Format(time.DateOnly), Query: template.URL(filterQuery(q.Filter).Encode())}
	if res.Next.ID != 0 {
		next := filterQuery(q.Filter)
		next.Set("after", res.Next.String())
		page.NextQuery = template.URL(next.Encode())
	}
	page.Allowed, page.Bounded = q.Allowed, q.Bounded
	s.renderAuditor(w, http.StatusOK, "auditor_records.html", page)
}

// filterQuery is the URL query that asks for f again (the next page, the
// exports).
func filterQuery(f completion.Filter) url.Values {
	v := url.Values{"from": {f.From.Format(time.DateOnly)}, "to": {f.To.Format(time.DateOnly)}}
	for k, s := range map[string]string{"framework": f.Framework, "requirement": f.Requirement, "control": f.Control,
		"process": f.Process, "person": f.Person} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// recordDetail is one record and the evidence files it names.
type recordDetail struct {
	ID      int64     `db:"id"`
	At      time.Time `db:"at"`
	Control string    `db:"control_id"`
	Actor   string    `db:"actor"`
	Action  string    `db:"action"`
	Subject string    `db:"subject"`
	Detail  string    `db:"detail"`
	Hash    string    `db:"hash"`
	Files   []recordFile
}

// recordFile is an evidence file of a record: the one its entry names (an
// upload), or one uploaded for its subject.
type recordFile struct {
	SHA256    string `db:"sha256"`
	Size      int64  `db:"size"`
	MediaType string `db:"media_type"`
	Filename  string `db:"filename"`
}

// readRecord is the record id (an audit-log row written for a control) and
// its files, or sql.ErrNoRows.
func (s *Server) readRecord(ctx context.Context, p Principal, id int64) (recordDetail, error) {
	var d recordDetail
	err := s.inScope(ctx, p, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &d, `SELECT id, at, control_id, actor, action, subject, detail::text AS detail, encode(hash, 'hex') AS hash
			FROM audit_log WHERE id = $1 AND control_id <> ''`, id); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &d.Files, `
			SELECT DISTINCT ON (f.sha256) f.sha256, f.size, f.media_type, u.filename
			FROM evidence_files f JOIN evidence_uploads u ON u.sha256 = f.sha256
			WHERE f.sha256 = (SELECT detail->>'sha256' FROM audit_log WHERE id = $1) OR u.subject = $2
			ORDER BY f.sha256, u.uploaded_at`, id, d.Subject)
	})
	return d, err
}

// recordFor reads the {id} record for p, answering (404, or 403 audited for
// a record outside an auditor's period) when it may not be shown.
func (s *Server) recordFor(w http.ResponseWriter, r *http.Request, p Principal) (recordDetail, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "no such record", http.StatusNotFound)
		return recordDetail{}, false
	}
	allowed, bounded, err := s.auditPeriod(r.Context(), p)
	if err != nil {
		s.unavailable(w, "read the auditor's account", err)
		return recordDetail{}, false
	}
	d, err := s.readRecord(r.Context(), p, id)
	if errors.Is(err, sql.ErrNoRows) {
		http.Error(w, "no such record", http.StatusNotFound)
		return recordDetail{}, false
	}
	if err != nil {
		s.unavailable(w, "read a record", err)
		return recordDetail{}, false
	}
	if bounded && (d.At.Before(allowed.From) || !d.At.Before(allowed.To)) {
		s.refuseOutsidePeriod(w, r, p, allowed)
		return recordDetail{}, false
	}
	return d, true
}

func (s *Server) record(w http.ResponseWriter, r *http.Request, p Principal) {
	d, ok := s.recordFor(w, r, p)
	if !ok || !s.auditRead(w, r, p, "auditor.viewed_record", map[string]string{"record": strconv.FormatInt(d.ID, 10)}) {
		return
	}
	s.renderAuditor(w, http.StatusOK, "auditor_record.html", d)
}

// recordEvidence downloads one of a record's evidence files.
func (s *Server) recordEvidence(w http.ResponseWriter, r *http.Request, p Principal) {
	d, ok := s.recordFor(w, r, p)
	if !ok {
		return
	}
	sha := r.PathValue("sha256")
	var file *recordFile
	for i := range d.Files {
		if d.Files[i].SHA256 == sha {
			file = &d.Files[i]
		}
	}
	if file == nil {
		http.Error(w, "this record has no such evidence file", http.StatusNotFound)
		return
	}
	if !s.auditRead(w, r, p, "auditor.downloaded_evidence", map[string]string{"record": strconv.FormatInt(d.ID, 10), "sha256": sha}) {
		return
	}
	body, _, err := s.Evidence.Open(r.Context(), sha)
	if err != nil {
		s.unavailable(w, "open an evidence file", err)
		return
	}
	defer body.Close()
	serveAttachment(w, file.MediaType, file.SHA256[:12]+"-"+file.Filename)
	if _, err := io.Copy(w, body); err != nil {
		s.Logger.Warn("send an evidence file", "sha256", sha, "err", err)
	}
}
