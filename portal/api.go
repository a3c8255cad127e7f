// The JSON API (issue 16 item 6): the auditor's queries under /api/v1/ for
// auditors' and GRC tools' automation, with bearer tokens an admin creates
// (`starter api-token create`; package apitoken). A token acts as its
// auditor: the same audit-period clamp, the same read-only role, every call
// audited. The API only reads: every other method is refused, so CSRF has
// nothing to protect there.

package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/complyflow/complyflow/apitoken"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/completion"
)

// apiRoutes mounts the API on mux.
func (s *Server) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/records", s.requireToken(s.apiRecords))
	mux.HandleFunc("/api/v1/", s.apiRefuseWrite)
}

// requireToken serves h to the holder of a live bearer token; anything else
// is refused with 401 and audited (a forged or stale token is evidence too).
func (s *Server) requireToken(h func(http.ResponseWriter, *http.Request, Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		holder, err := apitoken.Check(r.Context(), s.DB, strings.TrimSpace(token))
		if !ok || errors.Is(err, apitoken.ErrRefused) {
			if err := audit.Write(r.Context(), s.DB, audit.Entry{Actor: "api", Action: "api.refused", Subject: r.Method + " " + r.URL.Path,
				Detail: map[string]string{"reason": "no live token", "address": clientAddress(r)}}); err != nil {
				s.Logger.Error("audit a refused API request", "err", err)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="complyflow"`)
			http.Error(w, "a live API token is required (Authorization: Bearer ...)", http.StatusUnauthorized)
			return
		}
		if err != nil {
			s.unavailable(w, "check an API token", err)
			return
		}
		h(w, r, Principal{PersonID: holder.PersonID, Role: RoleAuditor, SessionID: holder.TokenID})
	}
}

// apiRefuseWrite refuses whatever is not a GET of the API (405, audited),
// and answers 404 to a GET of a path it does not have.
func (s *Server) apiRefuseWrite(w http.ResponseWriter, r *http.Request) {
	if isRead(r) {
		http.NotFound(w, r)
		return
	}
	if err := audit.Write(r.Context(), s.DB, audit.Entry{Actor: "api", Action: "api.refused", Subject: r.Method + " " + r.URL.Path,
		Detail: map[string]string{"reason": "the API only reads", "address": clientAddress(r)}}); err != nil {
		s.Logger.Error("audit a refused API request", "err", err)
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "the API only reads", http.StatusMethodNotAllowed)
}

// apiRecord is a completion record as the API gives it: the export's
// columns (completion.Columns), the detail as JSON.
type apiRecord struct {
	AuditID        int64           `json:"audit_id"`
	At             time.Time       `json:"at"`
	Control        string          `json:"control"`
	Requirements   string          `json:"requirements"`
	Actor          string          `json:"actor"`
	Action         string          `json:"action"`
	Subject        string          `json:"subject"`
	Channel        string          `json:"channel"`
	PolicyVersions string          `json:"policy_versions"`
	ProgramVersion *int64          `json:"program_version"`
	ProgramHash    string          `json:"program_hash"`
	AuditHash      string          `json:"audit_hash"`
	Detail         json.RawMessage `json:"detail"`
}

// apiRecords is one page: the records and, when there are more, the cursor
// to pass as after= for the next.
type apiRecordsPage struct {
	From     string      `json:"from"`
	To       string      `json:"to"`
	Controls []string    `json:"controls"`
	Records  []apiRecord `json:"records"`
	Next     string      `json:"next,omitempty"`
}

func (s *Server) apiRecords(w http.ResponseWriter, r *http.Request, p Principal) {
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
	detail["after"], detail["records"], detail["token_id"] = q.After.String(), strconv.Itoa(len(res.Records)), p.SessionID
	if !s.auditRead(w, r, p, "api.read_records", detail) {
		return
	}
	page := apiRecordsPage{From: q.Filter.From.Format(time.DateOnly), To: q.Filter.To.Format(time.DateOnly),
		Controls: res.Scope.Controls, Records: make([]apiRecord, 0, len(res.Records)), Next: res.Next.String()}
	for _, rec := range res.Records {
		page.Records = append(page.Records, toAPIRecord(rec))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}

func toAPIRecord(r completion.Record) apiRecord {
	return apiRecord{AuditID: r.AuditID, At: r.At.UTC(), Control: r.Control, Requirements: r.Requirements, Actor: r.Actor,
		Action: r.Action, Subject: r.Subject, Channel: r.Channel, PolicyVersions: r.PolicyVersions, ProgramVersion: r.ProgramVersion,
		ProgramHash: r.ProgramHash, AuditHash: hex.EncodeToString(r.Hash), Detail: r.Detail}
}
