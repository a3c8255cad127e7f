package main

import (
	"log/slog"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/complyflow/complyflow/activities"
	"github.com/complyflow/complyflow/internal/config"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/workflows"
)

// Dependencies are what activities are built from.
type Dependencies struct {
	Config   config.Config
	DB       *sqlx.DB
	Temporal client.Client
	Logger   *slog.Logger
}

// Register puts every complyflow workflow and activity on the worker.
func Register(w worker.Registry, deps Dependencies) error {
	if err := registerHumanTask(w, deps); err != nil {
		return err
	}
	registerPolicyLifecycle(w, deps)
	return nil
}

// registerHumanTask puts the HumanTask workflow and its activities on the
// worker: task records, and notices by email (SMTP) and Slack (when a bot
// token is set) with links signed for the portal.
func registerHumanTask(w worker.Registry, deps Dependencies) error {
	signer, err := links.NewSigner(deps.Config.LinkSigningKeys)
	if err != nil {
		return err
	}
	n := &activities.Notifier{
		DB: deps.DB,
		Mailer: &activities.Mailer{Addr: deps.Config.SMTPAddr, From: deps.Config.SMTPFrom,
			Username: deps.Config.SMTPUsername, Password: deps.Config.SMTPPassword},
		Links: signer, BaseURL: deps.Config.PortalBaseURL, LinkTTL: deps.Config.LinkTTL,
	}
	if deps.Config.SlackBotToken != "" {
		n.Slack = activities.NewSlack(deps.Config.SlackBotToken, deps.Config.SlackAPIURL)
	}
	w.RegisterWorkflowWithOptions(workflows.HumanTask, workflow.RegisterOptions{Name: workflows.HumanTaskWorkflow})
	w.RegisterActivity(&activities.Tasks{DB: deps.DB})
	w.RegisterActivity(n)
	return nil
}

// registerPolicyLifecycle puts the policy change request, exception and
// annual review workflows on the worker, with the policy records and the
// announcements (email to everyone, and the Slack channel when a bot token is set).
func registerPolicyLifecycle(w worker.Registry, deps Dependencies) {
	a := &activities.Announcer{
		DB: deps.DB,
		Mailer: &activities.Mailer{Addr: deps.Config.SMTPAddr, From: deps.Config.SMTPFrom,
			Username: deps.Config.SMTPUsername, Password: deps.Config.SMTPPassword},
		Channel: deps.Config.SlackAnnounceChannel,
	}
	if deps.Config.SlackBotToken != "" {
		a.Slack = activities.NewSlack(deps.Config.SlackBotToken, deps.Config.SlackAPIURL)
	}
	w.RegisterWorkflowWithOptions(workflows.PolicyChangeRequest, workflow.RegisterOptions{Name: workflows.PolicyChangeRequestWorkflow})
	w.RegisterWorkflowWithOptions(workflows.PolicyException, workflow.RegisterOptions{Name: workflows.PolicyExceptionWorkflow})
	w.RegisterWorkflowWithOptions(workflows.AnnualPolicyReview, workflow.RegisterOptions{Name: workflows.AnnualPolicyReviewWorkflow})
	w.RegisterActivity(&activities.Policies{DB: deps.DB})
	w.RegisterActivity(a)
}
