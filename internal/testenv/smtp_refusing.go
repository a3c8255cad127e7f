package testenv

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// RefusingSMTP is a plain SMTP server (no STARTTLS) that refuses AUTH for
// any password but "right" and refuses the sender "bad@example.com": answers
// that would refuse every recipient alike.
func RefusingSMTP(t testing.TB) (addr string, got func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	note := func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &refusingSession{note: note}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

type refusingSession struct {
	note func(string)
	to   string
}

func (s *refusingSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *refusingSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.note("auth " + user)
		if pass != "right" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		return nil
	}), nil
}

func (s *refusingSession) Mail(from string, _ *smtp.MailOptions) error {
	if from == "bad@example.com" {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 8}, Message: "sender address rejected"}
	}
	return nil
}

func (s *refusingSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }

// Data refuses some recipients only once it has the message, as servers
// that check mailboxes late do.
func (s *refusingSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	switch s.to {
	case "late-gone@example.com":
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	case "spam@example.com":
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "message refused by policy"}
	}
	s.note("data")
	return nil
}

func (s *refusingSession) Reset() {}

func (s *refusingSession) Logout() error { return nil }
