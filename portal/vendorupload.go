package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	vendoract "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/evidence"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/workflows/vendorreview"
)

// uploadPage is what vendor_upload.html shows.
type uploadPage struct {
	Cycle    vendoract.Cycle
	MaxBytes int64
	// Result pages only.
	Message string
	SHA256  string
}

// multipartOverhead is what a multipart body may carry beyond the file: its
// boundaries and part headers.
const multipartOverhead = 64 << 10

// uploadReadTime is how long a report's upload may take: at 1 Mbit/s a
// 50 MB file takes about 7 minutes.
const uploadReadTime = 15 * time.Minute

// vendorUploadGet shows the upload page behind a signed link. It changes
// nothing: mail scanners fetch links before people click them.
func (s *Server) vendorUploadGet(w http.ResponseWriter, r *http.Request) {
	claims, ok := s.uploadClaims(w, r)
	if !ok {
		return
	}
	page, ok := s.loadUploadPage(w, r, claims)
	if !ok {
		return
	}
	s.renderTask(w, http.StatusOK, "vendor_upload.html", page)
}

// vendorUploadPost stores the report and tells the cycle (issue 12 item 4):
// a PDF by its content, at most EvidenceMaxBytes, read as a stream that
// stops at the limit. A refused upload stores nothing: a bad link 403, a
// non-PDF 415, an oversize file 413, a cycle not waiting for a report 409.
func (s *Server) vendorUploadPost(w http.ResponseWriter, r *http.Request) {
	claims, ok := s.uploadClaims(w, r)
	if !ok {
		return
	}
	page, ok := s.loadUploadPage(w, r, claims)
	if !ok {
		return
	}
	if page.Cycle.Status != vendoract.StatusRequested {
		page.Message = "We already have a report for this review (it is " + page.Cycle.Status + "); nothing more is needed."
		s.refuseUpload(w, http.StatusConflict, page)
		return
	}
	limit := s.Config.EvidenceMaxBytes
	if r.ContentLength > limit+multipartOverhead {
		page.Message = s.tooLargeMessage()
		s.refuseUpload(w, http.StatusRequestEntityTooLarge, page)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartOverhead)
	if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadReadTime)); err != nil {
		s.Logger.Warn("upload: read deadline not extended", "err", err)
	}
	file, name, err := s.spoolUpload(r, limit)
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, evidence.ErrNotPDF):
		page.Message = "Only PDF files are accepted (the file's content must be a PDF, whatever its name). Please upload the report as a PDF."
		s.refuseUpload(w, http.StatusUnsupportedMediaType, page)
		return
	case errors.Is(err, evidence.ErrTooLarge) || errors.As(err, &tooBig):
		page.Message = s.tooLargeMessage()
		s.refuseUpload(w, http.StatusRequestEntityTooLarge, page)
		return
	case errors.Is(err, errNoFile):
		page.Message = "No file was sent. Choose the report's PDF, then press Upload."
		s.refuseUpload(w, http.StatusBadRequest, page)
		return
	case err != nil:
		s.Logger.Warn("upload: not received", "review", page.Cycle.ID, "err", err)
		page.Message = "The upload did not arrive whole. Please try again."
		s.refuseUpload(w, http.StatusBadRequest, page)
		return
	}
	defer file.Remove()
	stored, err := s.Evidence.Put(r.Context(), file, evidence.Upload{Subject: page.Cycle.ID, Uploader: claims.PersonID, Filename: name,
		Controls: page.Cycle.ControlIDs})
	if err != nil {
		s.Logger.Error("upload: not stored", "review", page.Cycle.ID, "err", err)
		page.Message = "The report could not be stored just now. Please try again in a minute."
		s.renderTask(w, http.StatusServiceUnavailable, "vendor_result.html", page)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 90*time.Second)
	defer cancel()
	_, err = vendorreview.Upload(ctx, s.Temporal, page.Cycle.ID, vendorreview.UploadRequest{SHA256: stored.SHA256, Size: stored.Size,
		Uploader: claims.PersonID, Filename: name})
	if msg, ok := rejection(err); ok {
		page.Message = "The file was kept, but the review did not take it: " + msg
		s.renderTask(w, http.StatusConflict, "vendor_result.html", page)
		return
	}
	if err != nil {
		s.Logger.Error("upload: review not told", "review", page.Cycle.ID, "err", err)
		page.Message = "The file was stored, but the review could not be told just now. Please upload it again in a minute."
		s.renderTask(w, http.StatusServiceUnavailable, "vendor_result.html", page)
		return
	}
	page.SHA256 = stored.SHA256
	page.Message = fmt.Sprintf("Thank you: the report (%d bytes) was received and goes to review.", stored.Size)
	s.renderTask(w, http.StatusOK, "vendor_result.html", page)
}

func (s *Server) tooLargeMessage() string {
	return fmt.Sprintf("The file is larger than accepted: at most %d bytes (%.0f MB). Please send a smaller PDF, "+
		"or ask us for another way.", s.Config.EvidenceMaxBytes, float64(s.Config.EvidenceMaxBytes)/1e6)
}

// refuseUpload answers a refused upload and closes the connection: the
// rest of the body is not read.
func (s *Server) refuseUpload(w http.ResponseWriter, status int, page uploadPage) {
	w.Header().Set("Connection", "close")
	s.renderTask(w, status, "vendor_result.html", page)
}

var errNoFile = errors.New("no file part")

// spoolUpload reads the multipart body part by part and spools the part
// named "file" (evidence.Spool: PDF by content, at most limit bytes); other
// parts are skipped.
func (s *Server) spoolUpload(r *http.Request, limit int64) (*evidence.Spooled, string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", errNoFile
		}
		if err != nil {
			return nil, "", err
		}
		if part.FormName() != "file" {
			continue
		}
		f, err := evidence.Spool(part, limit, "")
		return f, part.FileName(), err
	}
}

// uploadClaims verifies an upload link; a bad one (or a task's link) gets
// the plain 403 page.
func (s *Server) uploadClaims(w http.ResponseWriter, r *http.Request) (links.Claims, bool) {
	c, ok := s.linkClaims(w, r)
	if ok && !vendoract.IsUploadLink(c) {
		s.Logger.Info("upload link refused: not an upload link", "subject", c.Subject, "remote", r.RemoteAddr)
		s.renderTask(w, http.StatusForbidden, "task_denied.html", nil)
		return links.Claims{}, false
	}
	return c, ok
}

func (s *Server) loadUploadPage(w http.ResponseWriter, r *http.Request, c links.Claims) (uploadPage, bool) {
	cycle, found, err := vendoract.LoadCycle(r.Context(), s.DB, c.Subject)
	if err != nil {
		s.Logger.Error("load vendor review", "review", c.Subject, "err", err)
		http.Error(w, "The page cannot be shown just now. Please try again in a minute.", http.StatusServiceUnavailable)
		return uploadPage{}, false
	}
	if !found {
		http.Error(w, "This review does not exist (any more).", http.StatusNotFound)
		return uploadPage{}, false
	}
	return uploadPage{Cycle: cycle, MaxBytes: s.Config.EvidenceMaxBytes}, true
}
