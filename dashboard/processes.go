// Package dashboard answers what is open across complyflow's processes, for
// the officer's dashboard and a manager's view of their reports (issue 15
// items 3 and 6; DESIGN: the security officer "tracks everything open"):
// every open task and pending campaign assignment with its assignee, due
// date, overdue and escalated marks, filtered by process, control and
// person and paged by keyset; each campaign's progress; offboarding
// removals done or still waiting past their deadline; vendors whose SOC 2
// report has lapsed; and the state of the annual reviews.
//
// It only reads, through whatever transaction it is handed (the portal's
// inScope, so row-level security applies), and it imports no process
// package: the names below are the processes' own, and its tests check them
// against the workflows' ID helpers.
package dashboard

import "strings"

// Process is a process as the dashboard lists and filters it.
type Process struct {
	// Name is the program file's name for it (registry.Process.Name).
	Name  string
	Title string
	// TaskPrefixes are the first segments of the workflow IDs whose human
	// tasks belong to it (tasks.parent_ref is the parent workflow's ID).
	TaskPrefixes []string
	// CampaignKind is campaigns.kind for a campaign process, whose open
	// items are the pending assignments.
	CampaignKind string
}

// Processes is every process the dashboard knows, in the order it lists
// them. A task whose parent matches none is listed under its ID's first
// segment.
var Processes = []Process{
	{Name: "policy-change-request", Title: "Policy change request", TaskPrefixes: []string{"change-request", "policy-change-request"}},
	{Name: "policy-exception", Title: "Policy exception", TaskPrefixes: []string{"policy-exception"}},
	{Name: "annual-policy-review", Title: "Annual policy review", TaskPrefixes: []string{"annual-policy-review"}},
	{Name: "policy-acknowledgement", Title: "Policy acknowledgement", TaskPrefixes: []string{"policy-acknowledgement"}, CampaignKind: "acknowledgement"},
	{Name: "security-training", Title: "Security training", TaskPrefixes: []string{"security-training"}, CampaignKind: "training"},
	{Name: "offboarding", Title: "Offboarding", TaskPrefixes: []string{"offboarding"}},
	{Name: "vendor-review", Title: "Vendor review", TaskPrefixes: []string{"vendor-review"}},
	{Name: "dr-test", Title: "DR/BCP test", TaskPrefixes: []string{"dr-test"}},
	{Name: "backup-restore-test", Title: "Backup restore test", TaskPrefixes: []string{"backup-restore-test"}},
	{Name: "annual-risk-assessment", Title: "Annual risk assessment", TaskPrefixes: []string{"annual-risk-assessment"}},
}

// LookupProcess is the process named name.
func LookupProcess(name string) (Process, bool) {
	for _, p := range Processes {
		if p.Name == name {
			return p, true
		}
	}
	return Process{}, false
}

// processOfTask is the process of a task whose parent workflow is parentRef.
func processOfTask(parentRef string) string {
	prefix, _, _ := strings.Cut(parentRef, "/")
	for _, p := range Processes {
		for _, tp := range p.TaskPrefixes {
			if tp == prefix {
				return p.Name
			}
		}
	}
	return prefix
}

// processOfCampaign is the process of a campaign of kind.
func processOfCampaign(kind string) string {
	for _, p := range Processes {
		if p.CampaignKind == kind {
			return p.Name
		}
	}
	return kind
}

// ProcessTitle is the title of the process named name, or name itself.
func ProcessTitle(name string) string {
	if p, ok := LookupProcess(name); ok {
		return p.Title
	}
	if name == "" {
		return "Other tasks" // a task no process started (`starter tasks create`)
	}
	return name
}
