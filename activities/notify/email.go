package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mailer sends one email at a time through an SMTP server: it dials with the
// caller's context, switches to TLS when the server offers STARTTLS, and
// authenticates when Username is set. Errors are *DeliveryError: only a 5xx
// refusal of the recipient is Permanent; a server that refuses everyone (bad
// credentials, a refused sender, 4xx, the network) is retryable, and a
// configuration that cannot work is Misconfigured.
type Mailer struct {
	Addr               string // host:port
	From               string // an address, optionally with a name: "Complyflow <c@example.com>"
	Username, Password string
	// TLSConfig is used for STARTTLS; nil verifies the certificate against Addr's host.
	TLSConfig *tls.Config

	dialContext func(ctx context.Context, network, addr string) (net.Conn, error) // nil: a net.Dialer
}

// Email is one message. IdempotencyKey becomes its Message-ID, so a message
// sent twice after a retry is the same message to the recipient's client.
type Email struct {
	To             string // an address
	ToName         string
	Subject        string
	Text           string
	HTML           string // optional; the message is multipart/alternative when set
	IdempotencyKey string
}

// Send delivers e on a connection of its own. It returns the Message-ID it
// used. Sending many messages, use a Pool: it reuses connections.
func (m *Mailer) Send(ctx context.Context, e Email) (string, error) {
	msg, err := m.message(e)
	if err != nil {
		return "", err
	}
	c, conn, err := m.session(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	defer bind(conn, ctx)()
	if err := deliver(c, msg); err != nil {
		return "", err
	}
	c.Quit()
	return msg.id, nil
}

// outgoing is a message ready for the wire.
type outgoing struct {
	from, to, id string
	raw          []byte
}

// message checks e's addresses and builds it.
func (m *Mailer) message(e Email) (outgoing, error) {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return outgoing{}, &DeliveryError{Misconfigured: true, Err: fmt.Errorf("SMTP_FROM %q: %w", m.From, err)}
	}
	if _, err := mail.ParseAddress(e.To); err != nil {
		return outgoing{}, &DeliveryError{Permanent: true, Err: fmt.Errorf("recipient %q: %w", e.To, err)}
	}
	msgID := MessageID(e.IdempotencyKey, from.Address)
	raw, err := buildMessage(from, e, msgID, time.Now())
	if err != nil {
		return outgoing{}, &DeliveryError{Permanent: true, Err: err}
	}
	return outgoing{from: from.Address, to: e.To, id: msgID, raw: raw}, nil
}

// session dials and authenticates: a connection ready for messages, and
// the network connection under it (for deadlines). ctx bounds the set-up
// only; the connection outlives it.
func (m *Mailer) session(ctx context.Context) (*smtp.Client, net.Conn, error) {
	c, conn, err := m.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	unbind := bind(conn, ctx)
	if m.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			c.Close()
			return nil, nil, &DeliveryError{Misconfigured: true, Err: fmt.Errorf("smtp: SMTP_USERNAME is set but the server at SMTP_ADDR %s offers no AUTH", m.Addr)}
		}
		if err := c.Auth(sasl.NewPlainClient("", m.Username, m.Password)); err != nil {
			c.Close()
			return nil, nil, &DeliveryError{Err: fmt.Errorf("smtp: authenticate as SMTP_USERNAME %s: %w", m.Username, err)}
		}
	}
	if !unbind() {
		c.Close()
		return nil, nil, &DeliveryError{Err: fmt.Errorf("smtp: connect to SMTP_ADDR %s: %w", m.Addr, context.Cause(ctx))}
	}
	return c, conn, nil
}

// bind ties conn to ctx until the returned func is called: ctx's deadline
// becomes the connection's, and cancelling ctx ends a stuck SMTP
// conversation at once instead of after minutes. The func reports whether
// the connection is still usable (ctx did not end it).
func bind(conn net.Conn, ctx context.Context) func() bool {
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl) // zero: none
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() bool {
		if !stop() {
			return false
		}
		conn.SetDeadline(time.Time{})
		return true
	}
}

// deliver sends one message on an open session.
func deliver(c *smtp.Client, msg outgoing) error {
	if err := c.Mail(msg.from, nil); err != nil {
		return &DeliveryError{Err: fmt.Errorf("smtp: sender %s (SMTP_FROM) refused: %w", msg.from, err)}
	}
	if err := c.Rcpt(msg.to, nil); err != nil {
		return &DeliveryError{Permanent: recipientRefused(err), Err: err}
	}
	w, err := c.Data()
	if err != nil {
		return &DeliveryError{Err: err}
	}
	if _, err := w.Write(msg.raw); err != nil {
		return &DeliveryError{Err: err}
	}
	if err := w.Close(); err != nil {
		return &DeliveryError{Permanent: recipientRefused(err), Err: err}
	}
	return nil
}

// recipientRefused reports whether an SMTP error is a refusal of the
// recipient itself, which no retry changes: 5xx with a status about the
// address or the mailbox (RFC 3463 X.1.x, X.2.x), or, without such a status,
// 550/551/553. Policy (X.7.x: relaying, authentication), system and protocol
// failures refuse every recipient alike and are the server's, not theirs.
func recipientRefused(err error) bool {
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code < 500 || se.Code > 599 {
		return false
	}
	if ec := se.EnhancedCode; ec[0] == 5 && ec[1] != 0 {
		return ec[1] == 1 || ec[1] == 2
	}
	return se.Code == 550 || se.Code == 551 || se.Code == 553
}

// dial connects with ctx and upgrades to TLS when the server offers it. The
// client library can only start TLS on a fresh connection, so a server that
// offers it costs a second dial. Credentials never cross the network in
// clear: with a username, a server without STARTTLS is refused unless it is
// on this machine.
func (m *Mailer) dial(ctx context.Context) (*smtp.Client, net.Conn, error) {
	conn, err := m.connect(ctx)
	if err != nil {
		return nil, nil, &DeliveryError{Err: err}
	}
	unbind := bind(conn, ctx)
	defer unbind()
	c := smtp.NewClient(conn)
	offered, _ := c.Extension("STARTTLS")
	if !offered {
		if m.Username != "" && !loopback(m.Addr) {
			c.Close()
			return nil, nil, &DeliveryError{Misconfigured: true, Err: fmt.Errorf(
				"smtp: SMTP_ADDR %s offers no STARTTLS, and SMTP_USERNAME is set: the password would cross the network unencrypted; use a server (or port) with STARTTLS", m.Addr)}
		}
		return c, conn, nil
	}
	c.Close()
	if conn, err = m.connect(ctx); err != nil {
		return nil, nil, &DeliveryError{Err: err}
	}
	unbindTLS := bind(conn, ctx)
	defer unbindTLS()
	cfg := m.TLSConfig
	if cfg == nil {
		host, _, _ := net.SplitHostPort(m.Addr)
		cfg = &tls.Config{ServerName: host}
	}
	c, err = smtp.NewClientStartTLS(conn, cfg)
	if err != nil {
		return nil, nil, &DeliveryError{Err: fmt.Errorf("smtp: STARTTLS with SMTP_ADDR %s: %w", m.Addr, err)}
	}
	return c, conn, nil
}

// loopback reports whether addr's host is this machine, where nothing
// crosses a network to be read.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// connect dials Addr with ctx.
func (m *Mailer) connect(ctx context.Context) (net.Conn, error) {
	dial := m.dialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return dial(ctx, "tcp", m.Addr)
}

// MessageID derives a stable Message-ID from an idempotency key.
func MessageID(key, fromAddress string) string {
	sum := sha256.Sum256([]byte(key))
	domain := "complyflow.local"
	if _, d, ok := strings.Cut(fromAddress, "@"); ok && d != "" {
		domain = d
	}
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

func buildMessage(from *mail.Address, e Email, msgID string, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	to := mail.Address{Name: e.ToName, Address: e.To}
	header := []string{
		"From: " + from.String(),
		"To: " + to.String(),
		"Subject: " + mime.QEncoding.Encode("utf-8", e.Subject),
		"Date: " + now.Format(time.RFC1123Z),
		"Message-ID: " + msgID,
		"MIME-Version: 1.0",
		"Auto-Submitted: auto-generated",
	}
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	if e.HTML == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		if err := writeQP(&b, e.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", mw.Boundary())
	for _, part := range []struct{ typ, body string }{{"text/plain", e.Text}, {"text/html", e.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	qp := quotedprintable.NewWriter(w)
	// In text mode the writer turns every line break into CRLF itself.
	if _, err := qp.Write([]byte(s)); err != nil {
		return err
	}
	return qp.Close()
}

// SetDialer makes the Mailer reach Addr through dial, so a test can give it
// a server name that is not on this machine and still talk to a local server.
func (m *Mailer) SetDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	m.dialContext = dial
}
