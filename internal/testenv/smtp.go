package testenv

import (
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/internal/devmail"
)

// MailSink is a real SMTP server (go-smtp's, through the dev mail sink) on a
// loopback port of its own, closed when the test ends.
func MailSink(t testing.TB) *devmail.Sink {
	t.Helper()
	s := &devmail.Sink{}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("testenv: start SMTP sink: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// MailParts returns a message's header and its decoded parts by content type.
func MailParts(t testing.TB, raw []byte) (mail.Header, map[string]string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q", m.Header.Get("Content-Type"))
	}
	out := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return m.Header, out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
}
