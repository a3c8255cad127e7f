package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	vendoract "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	portal "github.com/complyflow/complyflow/portal"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/vendorreview"
)

// uploadLimit is EVIDENCE_MAX_BYTES in these tests.
const uploadLimit = 64 << 10

// vendorSystem is a worker running vendor reviews, and the portal, on one
// test database and the shared Temporal dev server, with one cycle open.
type vendorSystem struct {
	db       *testenv.DB
	temporal client.Client
	portal   *httptest.Server
	signer   *links.Signer
	reviewID string
}

func newVendorSystem(t *testing.T) *vendorSystem {
	t.Helper()
	s := &vendorSystem{db: testenv.Postgres(t), temporal: testenv.Temporal(t)}
	s.db.Owner.MustExec(`
		INSERT INTO people (id, name, email) VALUES ('olga', 'Olga Owner', 'olga@example.com'), ('sam', 'Sam Officer', 'sam@example.com');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam');
		INSERT INTO vendors (id, name, contact_email, owner_id, criticality) VALUES ('v-acme', 'Acme Cloud', 'soc@acme.example.net', 'olga', 'high');
		INSERT INTO controls (id, title, processes) VALUES ('vendor-due-diligence', 'Vendor Due Diligence Review', '{vendor-review}')`)
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	keys := []links.Key{{Secret: []byte("portal-test-link-key-0123456789")}}
	var err error
	if s.signer, err = links.NewSigner(keys); err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	s.portal = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(s.portal.Close)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	handler = (&portal.Server{Config: config.Config{LinkSigningKeys: keys, EvidenceMaxBytes: uploadLimit},
		DB: s.db.App, Temporal: s.temporal, Logger: logger}).Handler()

	queue := "portal-vendor-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	mailer := &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}
	w := worker.New(s.temporal, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(vendorreview.Workflow, workflow.RegisterOptions{Name: vendorreview.WorkflowName})
	w.RegisterWorkflowWithOptions(humantask.Workflow, workflow.RegisterOptions{Name: humantask.WorkflowName})
	w.RegisterActivity(&vendoract.Activities{DB: s.db.App, Mailer: mailer, Links: s.signer, BaseURL: s.portal.URL, LinkTTL: time.Hour})
	w.RegisterActivity(&taskact.Tasks{DB: s.db.App})
	w.RegisterActivity(&taskact.Notifier{DB: s.db.App, Mailer: mailer, Links: s.signer, BaseURL: s.portal.URL, LinkTTL: time.Hour})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	cycle := "test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	in := vendorreview.Input{VendorID: "v-acme", Cycle: cycle, DuePeriod: 21 * 24 * time.Hour, CadenceMonths: 12, RequestBeforeDays: 60}
	id, already, err := vendorreview.Start(context.Background(), s.temporal, queue, in)
	if err != nil || already {
		t.Fatalf("start: %v (already %v)", err, already)
	}
	s.reviewID = id
	t.Cleanup(func() {
		s.temporal.TerminateWorkflow(context.Background(), id, "", "test over")
		s.temporal.TerminateWorkflow(context.Background(), humantask.ID(id, "review/1"), "", "test over")
	})
	eventually(t, "the request sent", func() bool {
		return s.count(t, `SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'vendor-review.request'`, id) == 1
	})
	return s
}

func (s *vendorSystem) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.Owner.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// uploadURL is the contact's upload link for the cycle.
func (s *vendorSystem) uploadURL() string {
	return s.portal.URL + "/v/" + s.signer.Sign(links.Claims{Subject: s.reviewID, PersonID: vendoract.ContactID("v-acme"),
		Expires: time.Now().Add(time.Hour)})
}

// evidenceRows is how many evidence files, uploads and audit entries exist.
func (s *vendorSystem) evidenceRows(t *testing.T) string {
	return fmt.Sprintf("files %d, uploads %d, audit %d", s.count(t, `SELECT count(*) FROM evidence_files`),
		s.count(t, `SELECT count(*) FROM evidence_uploads`), s.count(t, `SELECT count(*) FROM audit_log`))
}

// multipartBody is a form with one file part.
func multipartBody(t *testing.T, filename, contentType string, content []byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename=%q`, filename)}
	h["Content-Type"] = []string{contentType}
	part, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func post(t *testing.T, u, contentType string, body io.Reader) (int, string) {
	t.Helper()
	resp, err := http.Post(u, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// issue 12, Done when: a tampered link is refused (403); GET changes
// nothing; a PNG renamed .pdf is refused (415); a file over the limit is
// refused (413) without being read whole; a valid PDF is stored with the
// right SHA-256 and the cycle told. Nothing is stored for a refused upload.
func TestVendorUploadPage(t *testing.T) {
	s := newVendorSystem(t)
	link := s.uploadURL()
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("acme soc 2 type ii report "), 1000)...)
	before := s.evidenceRows(t)

	t.Run("tampered link", func(t *testing.T) {
		// A character inside the signature changed (the last one holds
		// padding bits, which base64 decoding ignores).
		i := len(link) - 10
		c := "A"
		if link[i] == 'A' {
			c = "B"
		}
		tampered := link[:i] + c + link[i+1:]
		if code, _ := send(t, http.MethodGet, tampered, nil); code != http.StatusForbidden {
			t.Errorf("GET tampered: %d, want 403", code)
		}
		ct, body := multipartBody(t, "report.pdf", "application/pdf", pdf)
		if code, _ := post(t, tampered, ct, bytes.NewReader(body)); code != http.StatusForbidden {
			t.Errorf("POST tampered: %d, want 403", code)
		}
		expired := s.portal.URL + "/v/" + s.signer.Sign(links.Claims{Subject: s.reviewID, PersonID: vendoract.ContactID("v-acme"),
			Expires: time.Now().Add(-time.Minute)})
		if code, _ := post(t, expired, ct, bytes.NewReader(body)); code != http.StatusForbidden {
			t.Errorf("POST expired: %d, want 403", code)
		}
		task := s.portal.URL + "/v/" + s.signer.Sign(links.Claims{Subject: "task/x", PersonID: "olga", Expires: time.Now().Add(time.Hour)})
		if code, _ := send(t, http.MethodGet, task, nil); code != http.StatusForbidden {
			t.Errorf("GET with a task's link: %d, want 403", code)
		}
	})
	t.Run("GET changes nothing", func(t *testing.T) {
		code, page := send(t, http.MethodGet, link, nil)
		if code != http.StatusOK || !strings.Contains(page, "Acme Cloud") || !strings.Contains(page, `enctype="multipart/form-data"`) {
			t.Errorf("GET: %d\n%s", code, page)
		}
	})
	t.Run("PNG renamed .pdf", func(t *testing.T) {
		png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 2000)...)
		ct, body := multipartBody(t, "soc2-report.pdf", "application/pdf", png)
		code, page := post(t, link, ct, bytes.NewReader(body))
		if code != http.StatusUnsupportedMediaType || !strings.Contains(page, "Only PDF files are accepted") {
			t.Errorf("PNG: %d\n%s", code, page)
		}
	})
	t.Run("oversize", func(t *testing.T) {
		// Declared too large: refused before reading.
		ct, body := multipartBody(t, "big.pdf", "application/pdf", append([]byte("%PDF-1.7\n"), make([]byte, 2*uploadLimit)...))
		code, page := post(t, link, ct, bytes.NewReader(body))
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, strconv.Itoa(uploadLimit)+" bytes") {
			t.Errorf("declared oversize: %d\n%s", code, page)
		}
		// Streamed without a length, 64 MiB, over a raw connection that
		// keeps reading while it writes: refused once the limit is passed,
		// long before the end of the body.
		code, sent := streamUpload(t, link, 64<<20)
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("streamed oversize: %d, want 413", code)
		}
		if sent > 8<<20 {
			t.Errorf("the server read %d bytes of a 64 MiB body before refusing it; want it to stop near the %d-byte limit", sent, uploadLimit)
		}
	})
	if after := s.evidenceRows(t); after != before {
		t.Fatalf("refused uploads and GETs changed the records: before %s, after %s", before, after)
	}
	if st, err := vendorreview.Query(context.Background(), s.temporal, s.reviewID); err != nil || st.Stage != vendoract.StatusRequested {
		t.Fatalf("after refused uploads the cycle is %+v (%v), want still requested", st, err)
	}

	t.Run("valid PDF", func(t *testing.T) {
		ct, body := multipartBody(t, "acme-soc2.pdf", "application/octet-stream", pdf)
		code, page := post(t, link, ct, bytes.NewReader(body))
		sum := sha256.Sum256(pdf)
		want := hex.EncodeToString(sum[:])
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Fatalf("upload: %d\n%s", code, page)
		}
		var stored []byte
		if err := s.db.Owner.Get(&stored, `SELECT content FROM evidence_files WHERE sha256 = $1 AND size = $2 AND media_type = 'application/pdf'`,
			want, len(pdf)); err != nil || !bytes.Equal(stored, pdf) {
			t.Errorf("stored file under %s: %v (content equal: %v)", want, err, bytes.Equal(stored, pdf))
		}
		if n := s.count(t, `SELECT count(*) FROM evidence_uploads WHERE sha256 = $1 AND subject = $2 AND uploader = $3 AND filename = 'acme-soc2.pdf'`,
			want, s.reviewID, vendoract.ContactID("v-acme")); n != 1 {
			t.Errorf("%d upload records, want 1", n)
		}
		if n := s.count(t, `SELECT count(*) FROM vendor_reviews WHERE id = $1 AND status = 'received' AND evidence_sha256 = $2`, s.reviewID, want); n != 1 {
			t.Errorf("the cycle is not recorded as received with the file")
		}
		st, err := vendorreview.Query(context.Background(), s.temporal, s.reviewID)
		if err != nil || st.Evidence != want {
			t.Errorf("status %+v (%v), want the report %s", st, err, want)
		}
		// A second upload is refused: the report is under review.
		if code, _ := post(t, link, ct, bytes.NewReader(body)); code != http.StatusConflict {
			t.Errorf("second upload: %d, want 409", code)
		}
	})
}

// streamUpload posts a chunked multipart body of about size bytes of PDF,
// reading the response while it writes, and answers the status and how many
// body bytes were written when the response came.
func streamUpload(t *testing.T, link string, size int) (int, int64) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const boundary = "vendor-upload-test-boundary"
	var sent atomic.Int64
	go func() {
		w := bufio.NewWriter(conn)
		fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=%s\r\nTransfer-Encoding: chunked\r\n\r\n",
			u.Path, u.Host, boundary)
		head := fmt.Sprintf("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%%PDF-1.7\n", boundary)
		fmt.Fprintf(w, "%x\r\n%s\r\n", len(head), head)
		chunk := bytes.Repeat([]byte("0"), 32<<10)
		for n := 0; n < size; n += len(chunk) {
			if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
				return
			}
			if w.Flush() != nil {
				return
			}
			sent.Add(int64(len(chunk)))
		}
	}()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("streamed upload: no response (%v) after %d bytes", err, sent.Load())
	}
	resp.Body.Close()
	return resp.StatusCode, sent.Load()
}
