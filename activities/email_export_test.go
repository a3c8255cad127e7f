package activities

import (
	"context"
	"net"
)

// SetDialer makes the Mailer reach Addr through dial, so a test can give it
// a server name that is not on this machine and still talk to a local server.
func (m *Mailer) SetDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	m.dialContext = dial
}
