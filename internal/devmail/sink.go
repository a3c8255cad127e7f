// Package devmail is the local SMTP sink of the embedded mode and of tests: a
// real go-smtp server that keeps every message it receives (in memory, and in
// a directory when one is given) and shows them at /dev/mail.
package devmail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received email.
type Message struct {
	ID       int
	From     string
	To       []string
	Received time.Time
	Raw      []byte
}

// Sink is the SMTP server and its mailbox.
type Sink struct {
	// Dir, when set, keeps each message as an .eml file so the mailbox
	// survives a restart.
	Dir string
	// RejectRecipient, when set, may refuse a recipient with an
	// *smtp.SMTPError (tests use it for 4xx and 5xx answers).
	RejectRecipient func(to string) error

	mu       sync.Mutex
	messages []Message
	sessions atomic.Int64
	server   *smtp.Server
	listener net.Listener
}

// Start loads any kept messages and serves SMTP on addr ("127.0.0.1:0" picks a port).
func (s *Sink) Start(addr string) error {
	if err := s.load(); err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dev mail sink: listen on %s: %w", addr, err)
	}
	s.listener = l
	s.server = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		s.sessions.Add(1)
		return &session{sink: s}, nil
	}))
	s.server.Domain = "localhost"
	s.server.AllowInsecureAuth = true
	s.server.MaxMessageBytes = 10 << 20
	go s.server.Serve(l)
	return nil
}

// Addr is where the sink listens.
func (s *Sink) Addr() string { return s.listener.Addr().String() }

// Close stops the server.
func (s *Sink) Close() error {
	if s.server == nil {
		return nil
	}
	return s.server.Close()
}

// Sessions is how many SMTP connections the sink has accepted.
func (s *Sink) Sessions() int { return int(s.sessions.Load()) }

// Count is how many messages the sink holds: Messages without the copy.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages)
}

// Messages returns every message received, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

func (s *Sink) store(m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.ID = len(s.messages) + 1
	if s.Dir != "" {
		name := filepath.Join(s.Dir, fmt.Sprintf("%06d.eml", m.ID))
		header := fmt.Sprintf("X-Devmail-From: %s\r\nX-Devmail-To: %s\r\n", m.From, strings.Join(m.To, ","))
		if err := os.WriteFile(name, append([]byte(header), m.Raw...), 0o600); err != nil {
			return err
		}
	}
	s.messages = append(s.messages, m)
	return nil
}

func (s *Sink) load() error {
	if s.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	names, err := filepath.Glob(filepath.Join(s.Dir, "*.eml"))
	if err != nil {
		return err
	}
	sort.Strings(names)
	for i, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return err
		}
		info, _ := os.Stat(n)
		m := Message{ID: i + 1, Received: info.ModTime()}
		for _, prefix := range []string{"X-Devmail-From: ", "X-Devmail-To: "} {
			line, rest, _ := bytes.Cut(b, []byte("\r\n"))
			v, ok := strings.CutPrefix(string(line), prefix)
			if !ok {
				break
			}
			if prefix == "X-Devmail-From: " {
				m.From = v
			} else {
				m.To = strings.Split(v, ",")
			}
			b = rest
		}
		m.Raw = b
		s.messages = append(s.messages, m)
	}
	return nil
}

type session struct {
	sink *Sink
	from string
	to   []string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.sink.RejectRecipient != nil {
		if err := s.sink.RejectRecipient(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(s.to) == 0 {
		return errors.New("no recipients")
	}
	return s.sink.store(Message{From: s.from, To: s.to, Received: time.Now(), Raw: raw})
}

func (s *session) Reset() {
	s.from, s.to = "", nil
}

func (s *session) Logout() error { return nil }
