package devmail

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

const message = "From: complyflow@localhost\r\nTo: sam@example.com\r\nSubject: Review the policy\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=B\r\n\r\n" +
	"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOpen http://127.0.0.1:8080/t/abc.def to act.\r\n" +
	"--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Open <a href=\"http://127.0.0.1:8080/t/abc.def\">the task</a></p>\r\n--B--\r\n"

func TestSinkKeepsMailAcrossRestartAndShowsLinks(t *testing.T) {
	dir := t.TempDir()
	sink := &Sink{Dir: dir}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := send(t, sink.Addr(), "complyflow@localhost", []string{"sam@example.com"}, strings.NewReader(message)); err != nil {
		t.Fatal(err)
	}
	sink.Close()

	restarted := &Sink{Dir: dir}
	if err := restarted.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	msgs := restarted.Messages()
	if len(msgs) != 1 || msgs[0].From != "complyflow@localhost" || msgs[0].To[0] != "sam@example.com" {
		t.Fatalf("after restart: %+v", msgs)
	}

	srv := httptest.NewServer(restarted.Handler())
	defer srv.Close()
	for path, want := range map[string]string{
		"/dev/mail":   `<a href="/dev/mail/1">Review the policy</a>`,
		"/dev/mail/1": `<a href="http://127.0.0.1:8080/t/abc.def">http://127.0.0.1:8080/t/abc.def</a>`,
	} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), want) {
			t.Errorf("GET %s lacks %q:\n%s", path, want, body)
		}
	}
}

func TestSinkAnswersRejectionFromRejectRecipient(t *testing.T) {
	sink := &Sink{RejectRecipient: func(string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	err := send(t, sink.Addr(), "a@localhost", []string{"ghost@example.com"}, strings.NewReader(message))
	if e, ok := err.(*smtp.SMTPError); !ok || e.Code != 550 {
		t.Fatalf("error %v, want a 550", err)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d messages kept", n)
	}
}

// send speaks plain SMTP, as a local relay does (go-smtp's SendMail insists on STARTTLS).
func send(t *testing.T, addr, from string, to []string, body io.Reader) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.SendMail(from, to, body)
}
