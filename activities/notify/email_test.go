package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestMailerSendsTextAndHTMLWithMessageIDFromKey(t *testing.T) {
	sink := testenv.MailSink(t)
	m := &notify.Mailer{Addr: sink.Addr(), From: "Complyflow <complyflow@example.com>"}
	long := "https://portal.example.com/t/" + strings.Repeat("x", 120)
	id, err := m.Send(context.Background(), notify.Email{
		To: "ann@example.com", ToName: "Ann Ängström", Subject: "Prüfung fällig",
		Text: "Open:\n" + long, HTML: "<p>Open <a href=\"" + long + "\">it</a></p>", IdempotencyKey: "task/1/assigned/email/ann",
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != notify.MessageID("task/1/assigned/email/ann", "complyflow@example.com") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q", id)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].From != "complyflow@example.com" || msgs[0].To[0] != "ann@example.com" {
		t.Fatalf("messages %+v", msgs)
	}
	h, p := testenv.MailParts(t, msgs[0].Raw)
	subject, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if h.Get("Message-Id") != id || subject != "Prüfung fällig" {
		t.Errorf("Message-ID %q, Subject %q", h.Get("Message-Id"), subject)
	}
	if !strings.Contains(p["text/plain"], long) || !strings.Contains(p["text/html"], `href="`+long+`"`) {
		t.Errorf("a long link must survive quoted-printable intact:\n%q", p)
	}
	again := notify.MessageID("task/1/assigned/email/ann", "complyflow@example.com")
	other := notify.MessageID("task/1/reminder/1/email/ann", "complyflow@example.com")
	if again != id || other == id {
		t.Errorf("Message-ID must follow the key: %s %s %s", id, again, other)
	}
}

func TestMailerClassifiesFailures(t *testing.T) {
	sink := testenv.MailSink(t)
	sink.RejectRecipient = func(to string) error {
		switch to {
		case "busy@example.com":
			return &smtp.SMTPError{Code: 451, Message: "try later"}
		case "gone@example.com":
			return &smtp.SMTPError{Code: 550, Message: "no such user"}
		case "moved@example.com":
			return &smtp.SMTPError{Code: 551, EnhancedCode: smtp.EnhancedCode{5, 1, 6}, Message: "moved"}
		case "relay@elsewhere.example":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relaying denied"}
		case "auth@example.com":
			return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
		case "broken@example.com":
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 3, 0}, Message: "mail system full"}
		}
		return nil
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	cases := []struct {
		addr, to  string
		permanent bool
	}{
		{sink.Addr(), "busy@example.com", false},
		{sink.Addr(), "gone@example.com", true},
		{sink.Addr(), "moved@example.com", true},
		{sink.Addr(), "relay@elsewhere.example", false},
		{sink.Addr(), "auth@example.com", false},
		{sink.Addr(), "broken@example.com", false},
		{closedAddr, "ann@example.com", false},
	}
	for _, c := range cases {
		m := &notify.Mailer{Addr: c.addr, From: "complyflow@example.com"}
		_, err := m.Send(context.Background(), notify.Email{To: c.to, Subject: "s", Text: "t", IdempotencyKey: "k"})
		var de *notify.DeliveryError
		if !errors.As(err, &de) || de.Permanent != c.permanent {
			t.Errorf("%s via %s: %v (permanent %v), want permanent=%v", c.to, c.addr, err, de != nil && de.Permanent, c.permanent)
		}
	}
	if len(sink.Messages()) != 0 {
		t.Errorf("refused messages were stored")
	}
}

// tlsAuthBackend is an SMTP server that offers STARTTLS and accepts AUTH only
// once TLS is on, so a message arriving proves the Mailer did both.
type tlsAuthBackend struct {
	mu  sync.Mutex
	got []string // "user tls=bool"
}

type tlsAuthSession struct {
	b    *tlsAuthBackend
	conn *smtp.Conn
	user string
}

func (s *tlsAuthSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *tlsAuthSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "mailer" || pass != "s3cret" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.user = user
		return nil
	}), nil
}
func (s *tlsAuthSession) Mail(string, *smtp.MailOptions) error {
	if s.user == "" {
		return &smtp.SMTPError{Code: 530, Message: "authenticate first"}
	}
	return nil
}
func (s *tlsAuthSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *tlsAuthSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	_, isTLS := s.conn.TLSConnectionState()
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.got = append(s.b.got, s.user+" tls="+map[bool]string{true: "yes", false: "no"}[isTLS])
	return nil
}
func (s *tlsAuthSession) Reset()        {}
func (s *tlsAuthSession) Logout() error { return nil }

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestMailerStartsTLSAndAuthenticates(t *testing.T) {
	cert, pool := selfSigned(t)
	b := &tlsAuthBackend{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &tlsAuthSession{b: b, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	m := &notify.Mailer{Addr: l.Addr().String(), From: "complyflow@example.com", Username: "mailer", Password: "s3cret",
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	if _, err := m.Send(context.Background(), notify.Email{To: "ann@example.com", Subject: "s", Text: "t", HTML: "<p>t</p>", IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	m.Password = "wrong"
	_, err = m.Send(context.Background(), notify.Email{To: "ann@example.com", Subject: "s", Text: "t", IdempotencyKey: "k2"})
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Permanent || de.Misconfigured {
		t.Errorf("bad credentials: %v, want a retryable failure: they refuse every recipient, not this one", err)
	}
	// Without trusting the certificate, the Mailer must not fall back to plain text.
	m = &notify.Mailer{Addr: l.Addr().String(), From: "complyflow@example.com", Username: "mailer", Password: "s3cret"}
	if _, err := m.Send(context.Background(), notify.Email{To: "ann@example.com", Subject: "s", Text: "t", IdempotencyKey: "k3"}); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if strings.Join(b.got, ",") != "mailer tls=yes" {
		t.Errorf("server saw %q, want one message from the authenticated user over TLS", b.got)
	}
}

func TestMailerHonoursContext(t *testing.T) {
	// A server that accepts and never speaks: only the context ends the wait.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&notify.Mailer{Addr: l.Addr().String(), From: "c@example.com"}).Send(ctx, notify.Email{To: "a@example.com", Subject: "s", Text: "t", IdempotencyKey: "k"})
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Permanent || time.Since(start) > 5*time.Second {
		t.Errorf("after %s: %v, want a retryable error soon after the deadline", time.Since(start), err)
	}
}

func TestMailerSendsTextOnlyBody(t *testing.T) {
	sink := testenv.MailSink(t)
	m := &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}
	body := "Your exception expires in 7 days.\nRe-evaluate it: https://portal.example.com/t/abc"
	if _, err := m.Send(context.Background(), notify.Email{
		To: "ann@example.com", Subject: "Exception expiring", Text: body, IdempotencyKey: "exception/1/7d",
	}); err != nil {
		t.Fatal(err)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(msgs[0].Raw)))
	if err != nil {
		t.Fatal(err)
	}
	if ct := msg.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q", ct)
	}
	got, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if strings.TrimRight(strings.ReplaceAll(string(got), "\r\n", "\n"), "\n") != body {
		t.Fatalf("body %q, want %q", got, body)
	}
}

func TestMailerServerWideRefusalsAreRetryable(t *testing.T) {
	addr, got := testenv.RefusingSMTP(t)
	send := func(m *notify.Mailer) error {
		_, err := m.Send(context.Background(), notify.Email{To: "ann@example.com", Subject: "s", Text: "t", IdempotencyKey: "k"})
		return err
	}
	for name, m := range map[string]*notify.Mailer{
		"bad credentials (535)":     {Addr: addr, From: "complyflow@example.com", Username: "mailer", Password: "wrong"},
		"sender refused (553 MAIL)": {Addr: addr, From: "bad@example.com"},
	} {
		err := send(m)
		var de *notify.DeliveryError
		if !errors.As(err, &de) || de.Permanent || de.Misconfigured {
			t.Errorf("%s: %v, want a retryable DeliveryError (not the recipient's fault)", name, err)
		}
	}
	for to, permanent := range map[string]bool{"late-gone@example.com": true, "spam@example.com": false} {
		_, err := (&notify.Mailer{Addr: addr, From: "complyflow@example.com"}).Send(context.Background(),
			notify.Email{To: to, Subject: "s", Text: "t", IdempotencyKey: "k"})
		var de *notify.DeliveryError
		if !errors.As(err, &de) || de.Permanent != permanent || de.Misconfigured {
			t.Errorf("DATA refused for %s: %v, want permanent=%v", to, err, permanent)
		}
	}
	// A loopback server may take credentials without TLS: nothing crosses a network.
	if err := send(&notify.Mailer{Addr: addr, From: "complyflow@example.com", Username: "mailer", Password: "right"}); err != nil {
		t.Fatalf("loopback server without STARTTLS: %v", err)
	}
	if g := strings.Join(got(), ","); g != "auth mailer,auth mailer,data" {
		t.Errorf("server saw %q", g)
	}
}

func TestMailerRefusesCredentialsWithoutTLS(t *testing.T) {
	addr, got := testenv.RefusingSMTP(t)
	// The same server, reached under a name that is not this machine.
	m := &notify.Mailer{Addr: "smtp.example.com:587", From: "complyflow@example.com", Username: "mailer", Password: "right"}
	m.SetDialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	})
	_, err := m.Send(context.Background(), notify.Email{To: "ann@example.com", Subject: "s", Text: "t", IdempotencyKey: "k"})
	var de *notify.DeliveryError
	if !errors.As(err, &de) || !de.Misconfigured || de.Permanent ||
		!strings.Contains(err.Error(), "SMTP_ADDR smtp.example.com:587") || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("%v, want a misconfiguration naming SMTP_ADDR and STARTTLS", err)
	}
	if g := got(); len(g) != 0 {
		t.Errorf("the server saw %q: credentials were sent in clear", g)
	}
	// Without credentials there is nothing to protect: it sends.
	m.Username, m.Password = "", ""
	if _, err := m.Send(context.Background(), notify.Email{To: "ann@example.com", Subject: "s", Text: "t", IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
}
