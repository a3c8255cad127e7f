package main

import (
	"github.com/jmoiron/sqlx"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/platform"
	"github.com/complyflow/complyflow/registry"
	"go.temporal.io/sdk/worker"
)

// Register puts every process of the registry on the worker, with the
// channels that reach people (email, and Slack when a bot token is set) and
// the signer of the portal links in task messages.
func Register(w worker.Registry, cfg config.Config, db *sqlx.DB) error {
	signer, err := links.NewSigner(cfg.LinkSigningKeys)
	if err != nil {
		return err
	}
	mailer := platform.NewMailer(cfg)
	d := registry.Deps{DB: db, Mailer: mailer, MailPool: notify.NewPool(mailer, cfg.SMTPPoolSize), Links: signer,
		PortalBaseURL: cfg.PortalBaseURL, LinkTTL: cfg.LinkTTL, AnnounceChannel: cfg.SlackAnnounceChannel,
		ConnectorKey: []byte(cfg.ConnectorSigningKey)}
	if cfg.SlackBotToken != "" {
		d.Slack = notify.NewSlack(cfg.SlackBotToken, cfg.SlackAPIURL)
	}
	registry.Register(w, d)
	return nil
}
