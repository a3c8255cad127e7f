// Command portal serves complyflow's web front (see server.go). In the
// embedded mode (no SMTP_ADDR) it also runs the local SMTP sink and shows its
// mail at /dev/mail.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/platform"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := platform.StartProcess(ctx, false)
	if err != nil {
		return err
	}
	defer p.Close()
	cfg, logger := p.Config, p.Logger

	scoped, err := platform.OpenDB(ctx, cfg.DatabasePortalURL)
	if err != nil {
		return fmt.Errorf("the portal's own database role (DATABASE_PORTAL_URL): %w", err)
	}
	defer scoped.Close()
	signatures := campaign.NewRecorder(p.DB)
	defer signatures.Close() // after the HTTP server's shutdown: its handlers wait for their batch
	srv := &Server{Config: cfg, DB: p.DB, Scoped: scoped, Temporal: p.Temporal, Logger: logger, Mailer: platform.NewMailer(cfg), Extra: map[string]http.Handler{},
		Signatures: signatures}
	if cfg.OIDCIssuer != "" {
		if srv.SSO, err = NewSSO(ctx, cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret, cfg.PortalBaseURL); err != nil {
			return fmt.Errorf("single sign-on (OIDC_ISSUER %s): %w", cfg.OIDCIssuer, err)
		}
	}
	if cfg.DevMail {
		sink := &devmail.Sink{Dir: cfg.DevMailDir}
		if err := sink.Start(cfg.SMTPAddr); err != nil {
			return err
		}
		defer sink.Close()
		mail := sink.Handler()
		srv.Extra["GET /dev/mail"] = mail
		srv.Extra["GET /dev/mail/{id}"] = mail
		logger.Info("dev mail sink listening", "smtp", cfg.SMTPAddr, "view", cfg.PortalBaseURL+"/dev/mail")
	}

	httpServer := NewHTTPServer(cfg.PortalAddr, srv.Handler())
	errc := make(chan error, 1)
	go func() { errc <- httpServer.ListenAndServe() }()
	logger.Info("portal listening", "addr", cfg.PortalAddr, "base_url", cfg.PortalBaseURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
