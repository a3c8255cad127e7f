// Package vendorreview is one vendor's review cycle (controls list B,
// Vendor Due Diligence Review: "Vendor SOC 2 reports (or equivalent) are
// collected and reviewed on at least an annual basis"): the report asked
// for from the vendor's contact by email with a signed upload link,
// reminders, escalation to the vendor's owner and then the security
// officer, the upload, a review task with a form (report type, period,
// auditor, opinion, exceptions, CUECs mapped to our controls, bridge letter,
// decision), follow-ups tracked to closure, a rejected report asked for
// again, and the next cycle dated from the report's period end. FanOut,
// started by the vendor-review obligation's schedule, starts one cycle per
// vendor due.
package vendorreview

import (
	"time"

	act "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
)

// Process is the name the program file knows vendor reviews by.
const Process = act.Process

// Registered workflow names: one cycle, and the schedule's fan-out.
const (
	WorkflowName       = "VendorReview"
	FanOutWorkflowName = "VendorReviewFanOut"
)

// UpdateUpload tells a cycle its report was stored (the portal, after the
// upload page stored the file); its validator admits it only while the
// cycle waits for a report, only from someone the link was made for.
const UpdateUpload = "upload"

// ID names one vendor's cycle, so a second start of it is refused.
func ID(vendorID, cycle string) string { return Process + "/" + vendorID + "/" + cycle }

// Input starts a VendorReview.
type Input struct {
	VendorID   string
	Cycle      string
	ReviewerID string // empty: the vendor's owner
	// DuePeriod is how long the vendor has to send the report; RemindEvery
	// the reminders' cadence (zero: no reminders).
	DuePeriod   time.Duration
	RemindEvery time.Duration
	// Escalation follows the vendor's owner, who is asked at the due date.
	Escalation []workflows.EscalationStep
	ControlIDs []string // empty: the program's controls naming the process
	// CadenceMonths and RequestBeforeDays date the next cycle from the
	// accepted report's period end.
	CadenceMonths     int
	RequestBeforeDays int
	// Round and Resume are set only by the workflow itself when it
	// continues as new: after rejected reports, or while waiting long for
	// one (Resume).
	Round  int     `json:",omitempty"`
	Resume *Resume `json:",omitempty"`
}

// Resume is a round's request in progress, carried across continue-as-new.
type Resume struct {
	Status  Status
	Waiting Waiting
}

// Waiting is where a round's request stands.
type Waiting struct {
	Started time.Time
	Steps   int      // escalation steps reached (the owner is the first)
	Asked   []string // "" (the vendor's contact), then each person asked
	Reason  string   // why the report is asked for again, if it is
}

// UploadRequest is the argument of UpdateUpload: a file already stored.
type UploadRequest struct {
	SHA256   string
	Size     int64
	Uploader string // the link's person: ContactID(vendor) or a person ID
	Filename string
}

// UploadResult answers UpdateUpload.
type UploadResult struct {
	ReviewID string
	Round    int
}

// Status answers QueryStatus on a VendorReview and is its result.
type Status struct {
	ReviewID  string
	VendorID  string
	Stage     string // act.Status*
	Round     int
	Due       time.Time
	Reminders int
	// Entitled are who may upload the report: the contact, the owner and
	// everyone escalated to.
	Entitled      []string
	Escalated     []string
	Evidence      string // the SHA-256 of the report under review or accepted
	Decisions     []humantask.Decision
	FollowUps     []string // follow-up task IDs
	NextRequestAt time.Time
}
