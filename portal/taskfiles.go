package main

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/evidence"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// isMultipart reports whether the request's body is multipart/form-data.
func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// taskPostLimited bounds a task completion's body: a form with files (a
// multipart body, only from a valid link) as an evidence upload
// (EVIDENCE_MAX_BYTES, read within uploadReadTime), anything else at
// maxBodyBytes.
func (s *Server) taskPostLimited(w http.ResponseWriter, r *http.Request) {
	if !isMultipart(r) {
		limitBodies(http.HandlerFunc(s.taskPost)).ServeHTTP(w, r)
		return
	}
	if _, ok := s.linkClaims(w, r); !ok {
		return // refused before a byte of the body is read
	}
	if max := s.Config.EvidenceMaxBytes + multipartOverhead; r.ContentLength > max {
		w.Header().Set("Connection", "close")
		http.Error(w, s.tooLargeMessage(), http.StatusRequestEntityTooLarge)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.Config.EvidenceMaxBytes+multipartOverhead)
	if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadReadTime)); err != nil {
		s.Logger.Warn("task form: read deadline not extended", "err", err)
	}
	s.taskPost(w, r)
}

// hasFile reports whether the form has a file field.
func hasFile(f *humantask.Form) bool {
	if f == nil {
		return false
	}
	for _, fd := range f.Fields {
		if fd.Kind == humantask.FieldFile {
			return true
		}
	}
	return false
}

// formFile is a file a form sent, spooled until the form is valid.
type formFile struct {
	spooled *evidence.Spooled
	name    string
}

// formFiles spools each file field's file (a PDF by its content, at most
// EvidenceMaxBytes) and sets the field's value to its SHA-256; nothing is
// stored yet. A refusal answers its status and message.
func (s *Server) formFiles(f *humantask.Form, r *http.Request, v *humantask.Values) ([]formFile, int, string) {
	var files []formFile
	if r.MultipartForm == nil {
		return nil, 0, ""
	}
	for _, fd := range f.Fields {
		if fd.Kind != humantask.FieldFile || len(r.MultipartForm.File[fd.Name]) == 0 {
			continue
		}
		fh := r.MultipartForm.File[fd.Name][0]
		in, err := fh.Open()
		if err != nil {
			return files, http.StatusBadRequest, fd.Label + ": the file did not arrive whole"
		}
		sp, err := evidence.Spool(in, s.Config.EvidenceMaxBytes, "")
		in.Close()
		switch {
		case errors.Is(err, evidence.ErrNotPDF):
			return files, http.StatusUnsupportedMediaType, fd.Label + ": only PDF files are accepted (by their content, whatever their name)"
		case errors.Is(err, evidence.ErrTooLarge):
			return files, http.StatusRequestEntityTooLarge, fd.Label + ": " + s.tooLargeMessage()
		case err != nil:
			return files, http.StatusBadRequest, fd.Label + ": the file did not arrive whole"
		}
		files = append(files, formFile{spooled: sp, name: fh.Filename})
		if v.Fields == nil {
			v.Fields = map[string]string{}
		}
		v.Fields[fd.Name] = sp.SHA256
	}
	return files, 0, ""
}

// storeFormFiles stores a valid form's files as evidence of the task.
func (s *Server) storeFormFiles(ctx context.Context, files []formFile, t taskact.TaskRecord, person string) (int, string) {
	for _, f := range files {
		if _, err := s.Evidence.Put(ctx, f.spooled, evidence.Upload{Subject: t.ID, Uploader: person, Filename: f.name, Controls: t.ControlIDs}); err != nil {
			s.Logger.Error("task form: file not stored", "task", t.ID, "err", err)
			return http.StatusServiceUnavailable, fmt.Sprintf("the file %s could not be stored just now; please try again in a minute", f.name)
		}
	}
	return 0, ""
}

func removeAll(files []formFile) {
	for _, f := range files {
		f.spooled.Remove()
	}
}
