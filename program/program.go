// Package program reads the program file: the roles, policies, controls with
// their framework mapping, and the recurring obligations of a compliance
// program. It is the one source of truth `starter program apply` reconciles
// Temporal Schedules and Postgres with, so loading is strict: every problem is
// reported as FILE:LINE: field: reason, all at once, and an invalid file is
// never applied.
package program

import (
	"fmt"
	"sort"
	"strings"
	"time"

	dract "github.com/complyflow/complyflow/activities/drtest"

	"github.com/complyflow/complyflow/workflows"
)

// Program is a validated program file.
type Program struct {
	File    string
	Content []byte
	// Hash is the hex SHA-256 of Content: the version an auditor sees in
	// program_versions and audit_log.
	Hash string

	// Roles maps a role name to the IDs of the people holding it.
	Roles       map[string][]string
	Policies    []Policy
	Trainings   []Training
	Controls    []Control
	Obligations []Obligation
	// Offboarding is the removal rule per system criticality (the
	// offboarding section; empty when the file has none).
	Offboarding map[string]OffboardingRule
	// DR is the DR/BCP plan (the dr section; nil when the file has none).
	DR *dract.Plan
}

// Policy is a written policy whose text lives in a file or at a URL.
type Policy struct {
	ID      string
	Title   string
	OwnerID string
	Source  string
	// Text is the text file's content and TextSHA256 its hex SHA-256
	// (both empty for a URL): registering the policy records them as its
	// first version's body and content hash.
	Text       string
	TextSHA256 string
	// Version is the number (YYYY.N) the text already has when complyflow
	// registers it; empty means YYYY.1 of that year. Later versions come
	// from change requests.
	Version string
	// Deprecated policies stay on record with their versions but are no
	// longer reviewed, offered for change, or in force (policy-management:
	// mark a policy deprecated instead of removing it).
	Deprecated bool
	// ProductDevelopment policies are about product development: their
	// changes also need the Head of Engineering's approval
	// (policy-management (c)). The file says so; nothing guesses it.
	ProductDevelopment bool
}

// Control is a control procedure, the policies it implements, the processes
// that evidence it, and the framework requirements it satisfies.
type Control struct {
	ID           string
	Title        string
	Description  string
	Policies     []string
	Processes    []string
	Requirements []Requirement
}

// Requirement is one framework requirement, e.g. {soc2 CC1.4}.
type Requirement struct {
	Framework string
	Ref       string
}

// Obligation is a recurring piece of work: a process started on a schedule.
type Obligation struct {
	ID      string
	Title   string
	Process string
	// Workflow is the workflow type the process starts (from the process map).
	Workflow    string
	Schedule    Schedule
	RemindEvery time.Duration
	Due         time.Duration
	Escalation  []workflows.EscalationStep
	Controls    []string
	// Scope narrows the run, e.g. the policy IDs an annual review covers;
	// the process decides what empty means (for the review: every policy not
	// deprecated when it runs; for an acknowledgement campaign: every policy
	// in force).
	Scope []string
	// Departments is a campaign's audience; empty means everyone active.
	Departments []string
	// Training is what a security-training campaign runs.
	Training string
	// NewHireWithin: a campaign obligation also assigns each new hire,
	// due this long after their start date (issue 11 item 6); 0: not.
	NewHireWithin time.Duration
	// Vendors is the vendor review's cadence by criticality (its
	// obligation only, and required there).
	Vendors *workflows.VendorCadence
	// RiskTolerance is the annual risk assessment's tolerance (its
	// obligation only, and required there).
	RiskTolerance int
	// Jitter starts each run at a random time up to this long after its
	// scheduled time (Temporal Schedule jitter); 0: on time.
	Jitter time.Duration
	// DR is the DR plan, for the dr-test and backup-restore-test
	// obligations (from the file's dr section).
	DR *dract.Plan
}

// Run is the input the obligation's schedule hands to its workflow.
func (o Obligation) Run() workflows.ScheduledRun {
	return workflows.ScheduledRun{
		ObligationID:  o.ID,
		Process:       o.Process,
		DuePeriod:     o.Due,
		RemindEvery:   o.RemindEvery,
		Escalation:    o.Escalation,
		ControlIDs:    o.Controls,
		Scope:         o.Scope,
		Departments:   o.Departments,
		Training:      o.Training,
		Vendors:       o.Vendors,
		DR:            o.DR,
		RiskTolerance: o.RiskTolerance,
	}
}

// RoleNames are the roles a program file may fill.
var RoleNames = []string{
	"security_officer", "privacy_officer", "coo", "ceo", "ceo_designee",
	"head_of_engineering", "review_committee",
	// The DR/BCP plan's participants (the dr section names the role).
	"dr_team",
}

// Error is one problem in a program file, located so a person can fix it.
type Error struct {
	File   string
	Line   int
	Field  string
	Reason string
}

func (e Error) Error() string { return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Reason) }

// Errors is every problem found in a file, in line order.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}
