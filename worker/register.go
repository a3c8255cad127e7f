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
	"github.com/complyflow/complyflow/internal/platform"
	"github.com/complyflow/complyflow/workflows"
)

// Dependencies are what activities are built from.
type Dependencies struct {
	Config   config.Config
	DB       *sqlx.DB
	Temporal client.Client
	Logger   *slog.Logger
}

// channels are the ways complyflow reaches people, shared by every process.
type channels struct {
	mailer *activities.Mailer
	slack  *activities.Slack // nil without a bot token: email only
}

// Register puts every complyflow workflow and activity on the worker.
func Register(w worker.Registry, deps Dependencies) error {
	ch := channels{mailer: platform.NewMailer(deps.Config)}
	if deps.Config.SlackBotToken != "" {
		ch.slack = activities.NewSlack(deps.Config.SlackBotToken, deps.Config.SlackAPIURL)
	}
	if err := registerHumanTask(w, deps, ch); err != nil {
		return err
	}
	registerPolicyLifecycle(w, deps, ch)
	return nil
}

// registerHumanTask puts the HumanTask workflow and its activities on the
// worker: task records, and notices by email and Slack with links signed for
// the portal.
func registerHumanTask(w worker.Registry, deps Dependencies, ch channels) error {
	signer, err := links.NewSigner(deps.Config.LinkSigningKeys)
	if err != nil {
		return err
	}
	w.RegisterWorkflowWithOptions(workflows.HumanTask, workflow.RegisterOptions{Name: workflows.HumanTaskWorkflow})
	w.RegisterActivity(&activities.Tasks{DB: deps.DB})
	w.RegisterActivity(&activities.Notifier{DB: deps.DB, Mailer: ch.mailer, Slack: ch.slack,
		Links: signer, BaseURL: deps.Config.PortalBaseURL, LinkTTL: deps.Config.LinkTTL})
	return nil
}

// registerPolicyLifecycle puts the policy change request, exception and
// annual review workflows on the worker, with the policy records and the
// announcements (email to everyone, and the Slack channel).
func registerPolicyLifecycle(w worker.Registry, deps Dependencies, ch channels) {
	w.RegisterWorkflowWithOptions(workflows.PolicyChangeRequest, workflow.RegisterOptions{Name: workflows.PolicyChangeRequestWorkflow})
	w.RegisterWorkflowWithOptions(workflows.PolicyException, workflow.RegisterOptions{Name: workflows.PolicyExceptionWorkflow})
	w.RegisterWorkflowWithOptions(workflows.AnnualPolicyReview, workflow.RegisterOptions{Name: workflows.AnnualPolicyReviewWorkflow})
	w.RegisterActivity(&activities.Policies{DB: deps.DB})
	w.RegisterActivity(&activities.Announcer{DB: deps.DB, Mailer: ch.mailer, Slack: ch.slack,
		Channel: deps.Config.SlackAnnounceChannel})
}
