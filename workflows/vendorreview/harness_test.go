package vendorreview

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	act "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/evidence"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// vendorHarness runs vendor reviews with time skipping against a real
// Postgres and SMTP sink (policytest), human tasks answered from a script.
type vendorHarness struct {
	*policytest.Harness
	signer *links.Signer
}

func newVendorHarness(t *testing.T, start time.Time) *vendorHarness {
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("vendor-review-test-key-0123456")}})
	if err != nil {
		t.Fatal(err)
	}
	h := &vendorHarness{signer: signer}
	h.Harness = policytest.New(t, start, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
		env.RegisterWorkflowWithOptions(FanOut, workflow.RegisterOptions{Name: FanOutWorkflowName})
	})
	h.DB.Owner.MustExec(`
		INSERT INTO people (id, email, name, manager_id) VALUES ('olga', 'olga@example.com', 'Olga Owner', 'coby');
		INSERT INTO vendors (id, name, contact_email, owner_id, criticality) VALUES
			('v-acme', 'Acme Cloud', 'soc@acme.example.net', 'olga', 'high');
		INSERT INTO controls (id, title, processes) VALUES ('vendor-due-diligence', 'Vendor Due Diligence Review', '{vendor-review}'),
			('access-reviews', 'User Access Reviews', '{}')`)
	h.register()
	return h
}

// register puts the vendor review's activities on the current environment.
func (h *vendorHarness) register() {
	h.Env.RegisterActivity(&act.Activities{DB: h.DB.App, Mailer: h.Mailer, Links: h.signer, BaseURL: "https://comply.example.com", LinkTTL: 30 * day})
	h.Env.RegisterActivity(&taskact.Tasks{DB: h.DB.App})
}

// input is a cycle as the demo program's obligation asks for it.
func input() Input {
	return Input{VendorID: "v-acme", Cycle: "2026", DuePeriod: 21 * day, RemindEvery: 7 * day,
		Escalation: []workflows.EscalationStep{{After: 7 * day, To: "role:security_officer"}}, CadenceMonths: 12, RequestBeforeDays: 60}
}

// storePDF stores content as evidence for the cycle, as the upload page
// does, and answers its SHA-256.
func (h *vendorHarness) storePDF(content, subject, uploader string) string {
	h.T.Helper()
	f, err := evidence.Spool(strings.NewReader(content), 1<<20, h.T.TempDir())
	if err != nil {
		h.T.Fatal(err)
	}
	s, err := (&evidence.Postgres{DB: h.DB.App}).Put(context.Background(), f, evidence.Upload{Subject: subject, Uploader: uploader})
	if err != nil {
		h.T.Fatal(err)
	}
	return s.SHA256
}

// uploadAt sends the upload update after d; got collects the answers.
func (h *vendorHarness) uploadAt(d time.Duration, id string, req UploadRequest, got *[]string) {
	h.Env.RegisterDelayedCallback(func() {
		h.Env.UpdateWorkflow(UpdateUpload, "upload"+d.String()+req.Uploader, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { *got = append(*got, req.Uploader+" refused: "+err.Error()) },
			OnComplete: func(_ any, err error) {
				if err == nil {
					*got = append(*got, req.Uploader+" uploaded")
				}
			},
		}, req)
	}, d)
}

func (h *vendorHarness) run(in Input) (Status, error) {
	h.Env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: ID(in.VendorID, in.Cycle)})
	h.Env.ExecuteWorkflow(WorkflowName, in)
	if !h.Env.IsWorkflowCompleted() {
		h.T.Fatal("the review did not complete")
	}
	var st Status
	if err := h.Env.GetWorkflowError(); err != nil {
		return st, err
	}
	return st, h.Env.GetWorkflowResult(&st)
}

// accepted is a filled review form accepting a SOC 2 Type II report.
func accepted(periodEnd string) humantask.Values {
	return humantask.Values{
		Fields: map[string]string{"report_type": "soc2-type2", "period_start": "2025-01-01", "period_end": periodEnd,
			"audit_firm": "Prudent & Co LLP", "opinion": "unqualified", "exceptions": "", "bridge_letter_needed": "no",
			"decision": act.DecisionAccept},
		Lists: map[string][]map[string]string{"cuecs": {{"description": "Customers review user access quarterly", "control": "access-reviews"}}},
	}
}

// sent lists the purposes and recipients of every message about the cycle.
func (h *vendorHarness) sent(id string) []string {
	h.T.Helper()
	var got []string
	if err := h.DB.Owner.Select(&got, `SELECT purpose || ' ' || recipient_id FROM notifications WHERE task_id = $1 ORDER BY id`, id); err != nil {
		h.T.Fatal(err)
	}
	return got
}

// mailTo is the text of every message to address whose subject has subject.
func (h *vendorHarness) mailTo(address, subject string) []string {
	h.T.Helper()
	var texts []string
	for _, m := range h.Sink.Messages() {
		hdr, parts := testenv.MailParts(h.T, m.Raw)
		if slices.Contains(m.To, address) && strings.Contains(hdr.Get("Subject"), subject) {
			texts = append(texts, parts["text/plain"])
		}
	}
	return texts
}

// linkIn is the upload token in the first such message.
func (h *vendorHarness) linkIn(address, subject string) string {
	h.T.Helper()
	texts := h.mailTo(address, subject)
	if len(texts) == 0 {
		h.T.Fatalf("no mail to %s about %q", address, subject)
	}
	_, rest, _ := strings.Cut(texts[0], "https://comply.example.com/v/")
	token, _, _ := strings.Cut(rest, "\n")
	return strings.TrimSpace(token)
}
