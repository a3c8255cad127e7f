// Package registry is the one list of complyflow's processes: what the
// program file calls each, the workflow that runs it, whether a schedule or a
// person starts it, and what the worker registers for it. program/ checks
// obligations and controls against it, schedules/ starts its workflows, and
// worker/ registers them. Adding a process is one package per layer plus one
// entry in Processes.
package registry

import (
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	campaignact "github.com/complyflow/complyflow/activities/campaign"
	dract "github.com/complyflow/complyflow/activities/drtest"
	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	offboardact "github.com/complyflow/complyflow/activities/offboarding"
	changeact "github.com/complyflow/complyflow/activities/policychange"
	exceptionact "github.com/complyflow/complyflow/activities/policyexception"
	reviewact "github.com/complyflow/complyflow/activities/policyreview"
	riskact "github.com/complyflow/complyflow/activities/riskassessment"
	vendoract "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/workflows/campaign"
	"github.com/complyflow/complyflow/workflows/drtest"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/offboarding"
	"github.com/complyflow/complyflow/workflows/policychange"
	"github.com/complyflow/complyflow/workflows/policyexception"
	"github.com/complyflow/complyflow/workflows/policyreview"
	"github.com/complyflow/complyflow/workflows/riskassessment"
	"github.com/complyflow/complyflow/workflows/vendorreview"
)

// Deps are what the processes' activities are built from.
type Deps struct {
	DB     *sqlx.DB
	Mailer *notify.Mailer
	// MailPool is the worker's reused SMTP connections, for bulk sends.
	MailPool *notify.Pool
	Slack    *notify.Slack // nil without a bot token: email only
	Links    *links.Signer
	// PortalBaseURL and LinkTTL make the signed links in task messages.
	PortalBaseURL string
	LinkTTL       time.Duration
	// AnnounceChannel is the Slack channel policy announcements go to.
	AnnounceChannel string
	// ConnectorKey signs offboarding's webhook calls (CONNECTOR_SIGNING_KEY).
	ConnectorKey []byte
}

// Process is one entry of the registry.
type Process struct {
	// Name is what the program file calls the process (obligations,
	// controls' processes).
	Name string
	// Workflow is the registered workflow type that runs it.
	Workflow string
	// Scheduled: a program-file obligation may start it, with a
	// workflows.ScheduledRun as its input.
	Scheduled bool
	// OnDemand: people start it (the portal, the starter); a control may name
	// it as its evidence, an obligation may not.
	OnDemand bool
	// Register puts the workflow and its activities on the worker; nil
	// when an earlier entry registers the same workflow.
	Register func(w worker.Registry, d Deps)
}

// Processes is every process, in the order the worker registers them.
var Processes = []Process{
	{Name: "human-task", Workflow: humantask.WorkflowName, Register: func(w worker.Registry, d Deps) {
		w.RegisterWorkflowWithOptions(humantask.Workflow, workflow.RegisterOptions{Name: humantask.WorkflowName})
		w.RegisterActivity(&taskact.Tasks{DB: d.DB})
		w.RegisterActivity(&taskact.Notifier{DB: d.DB, Mailer: d.Mailer, Slack: d.Slack, Links: d.Links,
			BaseURL: d.PortalBaseURL, LinkTTL: d.LinkTTL})
	}},
	{Name: policychange.Process, Workflow: policychange.WorkflowName, OnDemand: true, Register: func(w worker.Registry, d Deps) {
		w.RegisterWorkflowWithOptions(policychange.Workflow, workflow.RegisterOptions{Name: policychange.WorkflowName})
		w.RegisterActivity(&changeact.Activities{DB: d.DB})
		w.RegisterActivity(&changeact.Announcer{DB: d.DB, Pool: d.MailPool, Slack: d.Slack, Channel: d.AnnounceChannel})
	}},
	{Name: policyexception.Process, Workflow: policyexception.WorkflowName, OnDemand: true, Register: func(w worker.Registry, d Deps) {
		w.RegisterWorkflowWithOptions(policyexception.Workflow, workflow.RegisterOptions{Name: policyexception.WorkflowName})
		w.RegisterActivity(&exceptionact.Activities{DB: d.DB})
	}},
	{Name: campaignact.ProcessAcknowledgement, Workflow: campaign.WorkflowName, Scheduled: true, Register: registerCampaign},
	// The same workflow: a campaign's kind comes from its process.
	{Name: campaignact.ProcessTraining, Workflow: campaign.WorkflowName, Scheduled: true},
	{Name: policyreview.Process, Workflow: policyreview.WorkflowName, Scheduled: true, Register: func(w worker.Registry, d Deps) {
		w.RegisterWorkflowWithOptions(policyreview.Workflow, workflow.RegisterOptions{Name: policyreview.WorkflowName})
		w.RegisterActivity(&reviewact.Activities{DB: d.DB})
	}},
	{Name: offboarding.Process, Workflow: offboarding.WorkflowName, OnDemand: true, Register: func(w worker.Registry, d Deps) {
		w.RegisterWorkflowWithOptions(offboarding.Workflow, workflow.RegisterOptions{Name: offboarding.WorkflowName})
		w.RegisterActivity(&offboardact.Activities{DB: d.DB, ConnectorKey: d.ConnectorKey, Links: d.Links,
			BaseURL: d.PortalBaseURL, LinkTTL: d.LinkTTL, HTTP: &http.Client{Timeout: 20 * time.Second}})
	}},
	// The schedule starts the fan-out, which starts one VendorReview per
	// vendor due; `starter vendor-review start` starts one directly.
	{Name: vendorreview.Process, Workflow: vendorreview.FanOutWorkflowName, Scheduled: true, Register: func(w worker.Registry, d Deps) {
		w.RegisterWorkflowWithOptions(vendorreview.FanOut, workflow.RegisterOptions{Name: vendorreview.FanOutWorkflowName})
		w.RegisterWorkflowWithOptions(vendorreview.Workflow, workflow.RegisterOptions{Name: vendorreview.WorkflowName})
		w.RegisterActivity(&vendoract.Activities{DB: d.DB, Mailer: d.Mailer, Links: d.Links, BaseURL: d.PortalBaseURL, LinkTTL: d.LinkTTL})
	}},
	{Name: riskassessment.Process, Workflow: riskassessment.WorkflowName, Scheduled: true, Register: func(w worker.Registry, d Deps) {
		w.RegisterWorkflowWithOptions(riskassessment.Workflow, workflow.RegisterOptions{Name: riskassessment.WorkflowName})
		w.RegisterActivity(&riskact.Activities{DB: d.DB})
	}},
	// DR/BCP tests, on their schedule or `starter dr-test start`, and the
	// random backup-restore tests (their schedule's jitter picks the time,
	// the workflow the system).
	{Name: drtest.Process, Workflow: drtest.WorkflowName, Scheduled: true, Register: func(w worker.Registry, d Deps) {
		w.RegisterWorkflowWithOptions(drtest.Workflow, workflow.RegisterOptions{Name: drtest.WorkflowName})
		w.RegisterWorkflowWithOptions(drtest.BackupRestoreTest, workflow.RegisterOptions{Name: drtest.BackupRestoreWorkflowName})
		w.RegisterActivity(&dract.Activities{DB: d.DB})
	}},
	{Name: drtest.ProcessBackupRestore, Workflow: drtest.BackupRestoreWorkflowName, Scheduled: true},
}

func registerCampaign(w worker.Registry, d Deps) {
	w.RegisterWorkflowWithOptions(campaign.Workflow, workflow.RegisterOptions{Name: campaign.WorkflowName})
	w.RegisterActivity(&campaignact.Activities{DB: d.DB, Pool: d.MailPool, Slack: d.Slack, Links: d.Links,
		BaseURL: d.PortalBaseURL, LinkTTL: d.LinkTTL})
}

// Register puts every process on the worker, and the activities processes
// share (plain messages).
func Register(w worker.Registry, d Deps) {
	w.RegisterActivity(&notify.Messages{DB: d.DB, Mailer: d.Mailer})
	for _, p := range Processes {
		if p.Register != nil {
			p.Register(w, d)
		}
	}
}

// ScheduledWorkflows maps the name of each process a schedule may start to
// its workflow type.
func ScheduledWorkflows() map[string]string {
	m := map[string]string{}
	for _, p := range Processes {
		if p.Scheduled {
			m[p.Name] = p.Workflow
		}
	}
	return m
}

// OnDemand reports whether people start the named process.
func OnDemand(name string) bool {
	i := slices.IndexFunc(Processes, func(p Process) bool { return p.Name == name })
	return i >= 0 && Processes[i].OnDemand
}

// Names lists every process name, sorted.
func Names() []string {
	m := map[string]bool{}
	for _, p := range Processes {
		m[p.Name] = true
	}
	return slices.Sorted(maps.Keys(m))
}
