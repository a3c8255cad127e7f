package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	vendoract "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/evidence"
	"github.com/complyflow/complyflow/internal/devmail"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/vendorreview"
)

// vendorProgram is a program in force with the vendor-review obligation.
const vendorProgram = `roles:
  security_officer: [sam]
policies:
  - {id: vendors, title: Vendor Risk Management Policy, owner: sam, url: "https://example.com/vendors"}
controls:
  - id: vendor-due-diligence
    title: Vendor Due Diligence Review
    policies: [vendors]
    processes: [vendor-review]
    frameworks: {soc2: [CC9.2]}
obligations:
  - id: vendor-review
    process: vendor-review
    schedule: {cron: "0 9 1 * *"}
    due: 3w
    remind_every: 1w
    controls: [vendor-due-diligence]
    vendors:
      cadence: {critical: 12mo, high: 12mo, medium: 24mo, low: 24mo}
      request_before: 60d
`

// acceptReview answers the review task with an accepted SOC 2 Type II
// whose period ended a month ago, so it covers us for 11 more months.
func acceptReview(ctx workflow.Context, in humantask.Input) (humantask.Outcome, error) {
	end := workflow.Now(ctx).AddDate(0, -1, 0)
	return humantask.Outcome{TaskID: in.TaskID, Action: humantask.ActionDone, By: in.AssigneeID, At: workflow.Now(ctx),
		Values: humantask.Values{Fields: map[string]string{"report_type": "soc2-type2", "period_start": end.AddDate(-1, 0, 1).Format(time.DateOnly),
			"period_end": end.Format(time.DateOnly), "audit_firm": "Prudent & Co LLP", "opinion": "qualified", "exceptions": "CC7.2 alerting gap",
			"bridge_letter_needed": "no", "decision": vendoract.DecisionAccept}}}, nil
}

// `vendor-review start` prints the cycle's ID last and refuses a second
// start; `records vendor-reviews --json` shows the uploaded file's sha256
// and the findings once the review accepted it.
func TestVendorReviewStartAndRecords(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('sam', 'sam@example.com', 'Sam Officer'), ('olga', 'olga@example.com', 'Olga Owner');
		INSERT INTO vendors (id, name, contact_email, owner_id, criticality) VALUES ('v-acme', 'Acme Cloud', 'soc@acme.example.net', 'olga', 'high'),
			('v-tiny', 'Tiny', 'hi@tiny.example.net', 'olga', 'low');
		INSERT INTO controls (id, title, processes) VALUES ('vendor-due-diligence', 'Vendor Due Diligence Review', '{vendor-review}')`)
	db.Owner.MustExec(`INSERT INTO program_versions (content_hash, file, content, obligation_ids, applied_by) VALUES ('x', 'program.yaml', $1, '{vendor-review}', 'test')`,
		vendorProgram)
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	sink := &devmail.Sink{}
	if err := sink.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	signer, _ := links.NewSigner([]links.Key{{Secret: []byte("starter-test-link-key-0123456789")}})
	c := testenv.Temporal(t)
	w := worker.New(c, testenv.TaskQueue(t), worker.Options{})
	w.RegisterWorkflowWithOptions(acceptReview, workflow.RegisterOptions{Name: humantask.WorkflowName})
	w.RegisterWorkflowWithOptions(vendorreview.Workflow, workflow.RegisterOptions{Name: vendorreview.WorkflowName})
	w.RegisterActivity(&vendoract.Activities{DB: db.App, Mailer: &notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"},
		Links: signer, BaseURL: "http://portal.example", LinkTTL: time.Hour})
	w.RegisterActivity(&taskact.Tasks{DB: db.App})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	cycle := "c" + time.Now().Format("150405.000000")
	code, out, errOut := starterIn(t, db, "vendor-review", "start", "--vendor", "v-acme", "--cycle", cycle)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id := vendorreview.ID("v-acme", cycle)
	if code != 0 || lines[len(lines)-1] != id {
		t.Fatalf("vendor-review start: exit %d\n%s%s", code, out, errOut)
	}
	t.Cleanup(func() { c.TerminateWorkflow(context.Background(), id, "", "test over") })
	if code, _, errOut := starterIn(t, db, "vendor-review", "start", "--vendor", "v-acme", "--cycle", cycle); code != 2 ||
		!strings.Contains(errOut, "was already started") {
		t.Errorf("second start: exit %d, %s; want it refused", code, errOut)
	}
	if code, _, errOut := starterIn(t, db, "vendor-review", "start", "--vendor", "v-nobody"); code != 2 || !strings.Contains(errOut, `"v-nobody"`) {
		t.Errorf("unknown vendor: exit %d, %s; want it refused", code, errOut)
	}

	eventually := func(what string, cond func() bool) {
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	eventually("the request", func() bool { return len(sink.Messages()) == 1 })
	f, err := evidence.Spool(strings.NewReader("%PDF-1.7 acme report"), 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := (&evidence.Postgres{DB: db.App}).Put(context.Background(), f, evidence.Upload{Subject: id, Uploader: vendoract.ContactID("v-acme"), Filename: "acme.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vendorreview.Upload(context.Background(), c, id, vendorreview.UploadRequest{SHA256: stored.SHA256, Uploader: vendoract.ContactID("v-acme")}); err != nil {
		t.Fatal(err)
	}
	var status string
	eventually("the review accepted", func() bool {
		db.Owner.Get(&status, `SELECT status FROM vendor_reviews WHERE id = $1`, id)
		return status == vendoract.StatusAccepted
	})

	code, out, errOut = starterIn(t, db, "records", "vendor-reviews", "--json")
	if code != 0 {
		t.Fatalf("records --json: exit %d\n%s", code, errOut)
	}
	var got vendorRecords
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("records --json: %v\n%s", err, out)
	}
	if len(got.Cycles) != 1 || len(got.Cycles[0].Files) != 1 || got.Cycles[0].Files[0].SHA256 != stored.SHA256 ||
		got.Cycles[0].Opinion != "qualified" || got.Cycles[0].ReportType != "soc2-type2" || got.Cycles[0].Decision != vendoract.DecisionAccept {
		t.Errorf("records --json:\n%s\nwant the cycle accepted with the file %s", out, stored.SHA256)
	}
	standing := map[string]string{}
	for _, v := range got.Vendors {
		standing[v.VendorID] = v.State
	}
	// Covered for 11 more months (period end + 12 months); v-tiny never reviewed.
	if standing["v-acme"] != "covered" || standing["v-tiny"] != "never reviewed" {
		t.Errorf("standings %v", standing)
	}
	period := got.Cycles[0].PeriodStart.Format(time.DateOnly) + ".." + got.Cycles[0].PeriodEnd.Format(time.DateOnly)
	code, out, _ = starterIn(t, db, "records", "vendor-reviews", "--vendor", "v-acme")
	if code != 0 || !strings.Contains(out, stored.SHA256) || !strings.Contains(out, period) || strings.Contains(out, "v-tiny") {
		t.Errorf("records --vendor v-acme:\n%s", out)
	}
}
