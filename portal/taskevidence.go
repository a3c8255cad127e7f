package main

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/evidence"
)

// taskEvidence serves a file behind the task's signed link: one sent with
// the task's form, or uploaded for its process (a vendor's report to its
// reviewer), to the person the link was made for.
func (s *Server) taskEvidence(w http.ResponseWriter, r *http.Request) {
	claims, ok := s.linkClaims(w, r)
	if !ok {
		return
	}
	t, found, err := taskact.LoadTask(r.Context(), s.DB, claims.Subject)
	sha := r.PathValue("sha256")
	// The task's own files (its form's), or its process's (a vendor's report).
	if err == nil && found {
		found, err = evidence.UploadedFor(r.Context(), s.DB, t.ID, sha)
		if err == nil && !found && t.ParentRef != "" {
			found, err = evidence.UploadedFor(r.Context(), s.DB, t.ParentRef, sha)
		}
	}
	if err != nil {
		s.Logger.Error("task evidence", "task", claims.Subject, "err", err)
		http.Error(w, "The file cannot be served just now. Please try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	if !found {
		http.Error(w, "No such file for this task.", http.StatusNotFound)
		return
	}
	rc, f, err := s.Evidence.Open(r.Context(), sha)
	if errors.Is(err, evidence.ErrNotFound) {
		http.Error(w, "No such file for this task.", http.StatusNotFound)
		return
	}
	if err != nil {
		s.Logger.Error("task evidence", "sha256", sha, "err", err)
		http.Error(w, "The file cannot be served just now. Please try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", f.MediaType)
	w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.Header().Set("Content-Disposition", `attachment; filename="`+sha[:12]+`.pdf"`)
	io.Copy(w, rc)
}
