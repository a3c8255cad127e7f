package vendorreview

import (
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	act "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// run is the demo program's vendor-review obligation.
var run = workflows.ScheduledRun{ObligationID: "vendor-review", Process: Process, DuePeriod: 21 * day, RemindEvery: 7 * day,
	ControlIDs: []string{"vendor-due-diligence"},
	Vendors:    &workflows.VendorCadence{MonthsByCriticality: map[string]int{"critical": 12, "high": 12, "medium": 24, "low": 24}, RequestBeforeDays: 60}}

// fanOut runs the schedule's fan-out at at; each cycle it starts only opens
// its record, as the real one begins, and ends.
func (h *vendorHarness) fanOut(at time.Time) FanOutResult {
	h.T.Helper()
	h.Env = h.NewTestWorkflowEnvironment()
	h.Env.SetStartTime(at)
	h.Env.RegisterWorkflowWithOptions(FanOut, workflow.RegisterOptions{Name: FanOutWorkflowName})
	h.Env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in Input) (Status, error) {
		now := workflow.Now(ctx)
		return Status{}, workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflows.RecordOptions), vendorAct.OpenReview,
			act.OpenReviewInput{ID: ID(in.VendorID, in.Cycle), VendorID: in.VendorID, Cycle: in.Cycle, CadenceMonths: in.CadenceMonths,
				RequestBeforeDays: in.RequestBeforeDays, At: now, Due: now.Add(in.DuePeriod)}).Get(ctx, nil)
	}, workflow.RegisterOptions{Name: WorkflowName})
	h.register()
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "vendor-review/vendor-review-" + at.Format(time.DateOnly)})
	h.Env.ExecuteWorkflow(FanOutWorkflowName, run)
	var res FanOutResult
	if err := h.Env.GetWorkflowError(); err != nil {
		h.T.Fatal(err)
	}
	if err := h.Env.GetWorkflowResult(&res); err != nil {
		h.T.Fatal(err)
	}
	return res
}

// The next cycle is asked for from the accepted report's period end, not
// from when it was uploaded: a high vendor's report for 2025 (period end
// 2025-12-31) is asked for again on 2026-11-01 (12 months less 60 days); a
// low vendor never reviewed is due at once with a 24-month cadence; a vendor
// with a cycle open is not started twice.
func TestVendorReviewNextCycleFromPeriodEnd(t *testing.T) {
	h := newVendorHarness(t, start)
	h.DB.Owner.MustExec(`INSERT INTO vendors (id, name, contact_email, owner_id, criticality) VALUES
		('v-tiny', 'Tiny SaaS', 'hello@tiny.example.net', 'olga', 'low')`)
	id := ID("v-acme", "2026")
	contact := act.ContactID("v-acme")
	sha := h.storePDF("%PDF-1.7 acme", id, contact)
	var got []string
	h.uploadAt(day, id, UploadRequest{SHA256: sha, Uploader: contact}, &got)
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: 200 * day, By: "olga", Action: humantask.ActionDone, Values: accepted("2025-12-31")})
	if _, err := h.run(input()); err != nil {
		t.Fatal(err)
	}

	before := h.fanOut(time.Date(2026, 10, 31, 13, 0, 0, 0, time.UTC))
	if !slices.Equal(before.Started, []string{ID("v-tiny", "2026")}) {
		t.Errorf("on 2026-10-31 started %v, want only the never-reviewed v-tiny", before.Started)
	}
	if n := h.Count(`SELECT count(*) FROM vendor_reviews WHERE vendor_id = 'v-tiny' AND cadence_months = 24 AND request_before_days = 60`); n != 1 {
		t.Errorf("v-tiny's cycle is not recorded with the low cadence (24 months)")
	}
	after := h.fanOut(time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC))
	if !slices.Equal(after.Started, []string{ID("v-acme", "2026-2")}) {
		t.Errorf("on 2026-11-01 started %v, want v-acme's next cycle only (v-tiny's is open)", after.Started)
	}
}
