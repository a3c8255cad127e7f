package notify_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/testenv"
)

func email(i int) notify.Email {
	return notify.Email{To: fmt.Sprintf("p%d@example.com", i), Subject: "Read and accept", Text: "Hello", HTML: "<p>Hello</p>",
		IdempotencyKey: fmt.Sprintf("campaign/x/p%d/assigned/email", i)}
}

// Many messages from many goroutines go over at most Size connections,
// each message once, to its own recipient.
func TestPoolReusesItsConnections(t *testing.T) {
	sink := testenv.MailSink(t)
	pool := notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 3)
	defer pool.Close()
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			if _, err := pool.Send(context.Background(), email(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	msgs := sink.Messages()
	if len(msgs) != 60 {
		t.Fatalf("%d messages arrived, want 60", len(msgs))
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		if len(m.To) != 1 || seen[m.To[0]] {
			t.Fatalf("recipients %v: each message must go to its one recipient once", m.To)
		}
		seen[m.To[0]] = true
	}
	if n := sink.Sessions(); n > 3 {
		t.Errorf("%d connections for 60 messages, want at most the pool's 3", n)
	}
}

// A connection the server dropped while idle is replaced on the next send,
// which succeeds.
func TestPoolRedialsADroppedConnection(t *testing.T) {
	sink := testenv.MailSink(t)
	addr := sink.Addr()
	pool := notify.NewPool(&notify.Mailer{Addr: addr, From: "complyflow@example.com"}, 1)
	defer pool.Close()
	if _, err := pool.Send(context.Background(), email(1)); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	again := &devmail.Sink{}
	if err := again.Start(addr); err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := pool.Send(context.Background(), email(2)); err != nil {
		t.Fatalf("send after the server restarted: %v", err)
	}
	if msgs := again.Messages(); len(msgs) != 1 || msgs[0].To[0] != "p2@example.com" {
		t.Errorf("the restarted server got %v", msgs)
	}
}

// A refused recipient is a permanent error for that message only: the
// connection stays in use for the next.
func TestPoolRefusedRecipientKeepsTheConnection(t *testing.T) {
	sink := testenv.MailSink(t)
	sink.RejectRecipient = func(to string) error {
		if to == "p1@example.com" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}
	pool := notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 1)
	defer pool.Close()
	_, err := pool.Send(context.Background(), email(1))
	var de *notify.DeliveryError
	if !errors.As(err, &de) || !de.Permanent {
		t.Fatalf("a 550 to the recipient: %v, want a permanent DeliveryError", err)
	}
	if _, err := pool.Send(context.Background(), email(2)); err != nil {
		t.Fatal(err)
	}
	if n := sink.Sessions(); n != 1 {
		t.Errorf("%d connections, want the one reused after the refusal", n)
	}
}
