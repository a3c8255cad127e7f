package notify

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Pool sends through at most Size SMTP connections that it keeps open and
// reuses, one message at a time each: a campaign of 10,000 messages costs
// four connections, not 10,000 greetings, TLS handshakes and logins (issue
// 11: "sending at the speed of the mail server"). It is safe for concurrent
// use; Send blocks while every connection is busy.
type Pool struct {
	mailer *Mailer
	slots  chan struct{} // one token per connection that may exist
	mu     sync.Mutex
	idle   []*pooledConn
}

type pooledConn struct {
	c        *smtp.Client
	conn     net.Conn
	lastUsed time.Time
}

// idleLimit is how long a connection may sit unused and still be reused:
// servers drop idle clients (RFC 5321 4.5.3.2.7 suggests 5 minutes), and a
// dropped connection discovered mid-message costs a redial anyway.
const idleLimit = 30 * time.Second

// NewPool makes a pool of up to size connections (at least one) to m's server.
func NewPool(m *Mailer, size int) *Pool {
	if size < 1 {
		size = 1
	}
	return &Pool{mailer: m, slots: make(chan struct{}, size)}
}

// Size is the most connections the pool opens.
func (p *Pool) Size() int { return cap(p.slots) }

// Send delivers e over a pooled connection and returns its Message-ID.
// Errors are *DeliveryError, classified as Mailer.Send's are. A reused
// connection that the server had closed is replaced once, transparently.
func (p *Pool) Send(ctx context.Context, e Email) (string, error) {
	msg, err := p.mailer.message(e)
	if err != nil {
		return "", err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return "", &DeliveryError{Err: context.Cause(ctx)}
	}
	defer func() { <-p.slots }()
	for attempt := 0; ; attempt++ {
		pc, reused, err := p.take(ctx)
		if err != nil {
			return "", err
		}
		err = p.deliver(ctx, pc, msg)
		var se *smtp.SMTPError
		switch {
		case err == nil:
			p.put(pc)
			return msg.id, nil
		case errors.As(err, &se):
			// The server answered: the connection is sound, the message
			// was refused. RSET makes it ready for the next one.
			if pc.c.Reset() == nil {
				p.put(pc)
			} else {
				pc.c.Close()
			}
			return "", err
		default:
			pc.c.Close()
			if !reused || attempt > 0 || ctx.Err() != nil {
				return "", err
			}
		}
	}
}

func (p *Pool) deliver(ctx context.Context, pc *pooledConn, msg outgoing) error {
	unbind := bind(pc.conn, ctx)
	err := deliver(pc.c, msg)
	if !unbind() && err == nil {
		// ctx ended right after the message went: it is sent, but the
		// connection's deadline is spent.
		pc.c.Close()
		pc.c = nil
	}
	return err
}

// take returns an idle connection young enough to reuse, or a new one.
func (p *Pool) take(ctx context.Context) (*pooledConn, bool, error) {
	p.mu.Lock()
	for len(p.idle) > 0 {
		pc := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if time.Since(pc.lastUsed) < idleLimit {
			p.mu.Unlock()
			return pc, true, nil
		}
		pc.c.Close()
	}
	p.mu.Unlock()
	c, conn, err := p.mailer.session(ctx)
	if err != nil {
		return nil, false, err
	}
	return &pooledConn{c: c, conn: conn}, false, nil
}

func (p *Pool) put(pc *pooledConn) {
	if pc.c == nil {
		return
	}
	pc.lastUsed = time.Now()
	p.mu.Lock()
	p.idle = append(p.idle, pc)
	p.mu.Unlock()
}

// Close says goodbye on every idle connection.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, pc := range idle {
		pc.c.Quit()
		pc.c.Close()
	}
}
