package main_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/workflows/humantask"
)

// A task with a form: the page draws its fields (a list as blank entries),
// refuses a completion that does not fill it (naming what is missing),
// and completes with the values, which the task's record keeps.
func TestTaskFormInThePortal(t *testing.T) {
	s := newTaskSystem(t)
	in := humantask.Input{
		TaskID: "task/portal-test/form", AssigneeID: "ann", Subject: "Record the DR test", Due: time.Now().Add(72 * time.Hour),
		Actions: []humantask.Action{humantask.ActionDone},
		Form: &humantask.Form{Fields: []humantask.Field{
			{Name: "result", Label: "Result", Kind: humantask.FieldChoice, Required: true, Choices: []humantask.Choice{{Value: "pass", Label: "Pass"}, {Value: "fail", Label: "Fail"}}},
			{Name: "held", Label: "Held on", Kind: humantask.FieldDate, Required: true},
			{Name: "report", Label: "Test report", Kind: humantask.FieldFile},
			{Name: "findings", Label: "Findings", Kind: humantask.FieldList, Fields: []humantask.Field{
				{Name: "what", Label: "What", Kind: humantask.FieldText, Required: true},
				{Name: "due", Label: "Due", Kind: humantask.FieldDate, Required: true},
			}},
		}},
	}
	s.start(t, in)
	eventually(t, "the task recorded", func() bool {
		return len(s.strings(t, `SELECT id FROM tasks WHERE id = $1`, in.TaskID)) == 1
	})
	link := s.link(t, in.TaskID, "ann")
	code, page := send(t, http.MethodGet, link, nil)
	for _, want := range []string{`<select id="result" name="result">`, `<input type="date" id="held" name="held">`,
		`name="findings.0.what"`, `name="findings.4.due"`, `<input type="file" id="report" name="report" accept="application/pdf">`,
		`enctype="multipart/form-data"`} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("page (%d) lacks %s", code, want)
		}
	}
	code, page = send(t, http.MethodPost, link, url.Values{"action": {"done"}, "result": {"pass"}, "findings.0.what": {"restore slow"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(page, "Held on is required") || !strings.Contains(page, "Findings 1: Due is required") {
		t.Errorf("incomplete form: %d\n%s", code, page)
	}
	if st := s.status(t, in.TaskID); st.Outcome != nil {
		t.Fatalf("an incomplete form completed the task: %+v", st.Outcome)
	}
	fields := map[string]string{"action": "done", "result": "fail", "held": "2026-04-15", "findings.0.what": "restore slow", "findings.0.due": "2026-05-01"}
	code, page = postForm(t, link, fields, "report", "report.pdf", []byte("\x89PNG\r\n\x1a\n not a pdf"))
	if code != http.StatusUnsupportedMediaType || !strings.Contains(page, "only PDF files are accepted") {
		t.Errorf("a PNG as the report: %d\n%s", code, page)
	}
	if n := s.strings(t, `SELECT sha256 FROM evidence_files`); len(n) != 0 {
		t.Fatalf("a refused form stored files: %v", n)
	}
	pdf := []byte("%PDF-1.7 the DR test report")
	code, page = postForm(t, link, fields, "report", "dr-report.pdf", pdf)
	if code != http.StatusOK {
		t.Fatalf("complete: %d\n%s", code, page)
	}
	sum := sha256.Sum256(pdf)
	sha := hex.EncodeToString(sum[:])
	if got := s.strings(t, `SELECT sha256 FROM evidence_uploads WHERE subject = $1 AND uploader = 'ann' AND filename = 'dr-report.pdf'`, in.TaskID); len(got) != 1 || got[0] != sha {
		t.Errorf("the report's upload: %v, want %s", got, sha)
	}
	if code, body := send(t, http.MethodGet, link+"/evidence/"+sha, nil); code != http.StatusOK || body != string(pdf) {
		t.Errorf("download the report: %d %q", code, body)
	}
	values := s.strings(t, `SELECT outcome_values::text FROM tasks WHERE id = $1 AND status = 'completed'`, in.TaskID)
	if len(values) != 1 || !strings.Contains(values[0], `"result": "fail"`) || !strings.Contains(values[0], `"what": "restore slow"`) ||
		!strings.Contains(values[0], `"report": "`+sha+`"`) {
		t.Errorf("recorded values %v", values)
	}
	if _, page = send(t, http.MethodGet, link, nil); !strings.Contains(page, "restore slow") {
		t.Errorf("the completed task's page does not show its values:\n%s", page)
	}
}

// postForm posts fields and one file as multipart/form-data, as the page's
// form does.
func postForm(t *testing.T, u string, fields map[string]string, fileField, filename string, content []byte) (int, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(fileField, filename)
	fw.Write(content)
	mw.Close()
	resp, err := http.Post(u, mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
