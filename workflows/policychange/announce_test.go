package policychange

import (
	"slices"
	"testing"
	"time"

	changeact "github.com/complyflow/complyflow/activities/policychange"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

// A mail misconfiguration after the publish does not fail the run: the
// re-acknowledgement owed is recorded first, the request is announcing (in
// the status query and the records) while the announcement is retried, and
// once the configuration is fixed everyone is told and the request is
// published.
func TestPolicyChangeAnnouncementOutlastsAMailMisconfiguration(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.Mailer.From = "complyflow at example dot com" // SMTP_FROM that does not parse
	id := ID("access", "bad-from")
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: policytest.Day, By: "sam", Action: humantask.ActionApprove})
	h.On(humantask.ID(id, "second-approval/1"), policytest.Answer{After: policytest.Day, By: "cleo", Action: humantask.ActionApprove})
	var during Status
	var status string
	var owed, announced, attempts int
	// Published two days in; half an hour later the announcement is still
	// failing (fixed then: the test environment gives up after 10 attempts,
	// where the server retries for as long as it takes).
	h.Env.RegisterDelayedCallback(func() {
		v, err := h.Env.QueryWorkflow(workflows.QueryStatus)
		if err == nil {
			err = v.Get(&during)
		}
		if err != nil {
			t.Errorf("status query: %v", err)
		}
		h.DB.Owner.Get(&status, `SELECT status FROM change_requests WHERE id = $1`, id)
		owed = h.Count(`SELECT count(*) FROM policy_acknowledgements_owed WHERE change_request_id = $1`, id)
		announced = h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.announced'`, id)
		attempts = len(h.Calls("AnnounceEmailBatch"))
		h.Mailer.From = "complyflow@example.com" // fixed
	}, 2*policytest.Day+30*time.Minute)
	st := runChange(h, id, Input{PolicyID: "access", Kind: "material", Summary: "require MFA", Text: "v2", RequesterID: "eve"})

	if during.Stage != changeact.StatusAnnouncing || during.Version != "2023.2" || status != "announcing" {
		t.Errorf("while the announcement failed: query %+v, records %q; want announcing 2023.2 in both", during, status)
	}
	if owed != 1 || announced != 0 || attempts < 3 {
		t.Errorf("while the announcement failed: %d re-acknowledgements owed, %d announced entries, %d batch attempts; "+
			"want the re-acknowledgement owed, no announcement recorded, the batch retried", owed, announced, attempts)
	}
	if st.Stage != changeact.StatusPublished || st.Announced != 6 || len(h.Sink.Messages()) != 6 {
		t.Errorf("result %+v, %d mails: want published and the 6 active people told once fixed", st, len(h.Sink.Messages()))
	}
	if n := h.Count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'published' AND closed_at IS NOT NULL`, id); n != 1 {
		t.Error("the request is not recorded as published once announced")
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.announced' AND (detail->>'emailed')::int = 6`, id); n != 1 {
		t.Error("the announcement is not in the audit log")
	}
	// The owed re-acknowledgement needs only the database: recorded before any announcing.
	var order []string
	for _, c := range h.Activities {
		if !slices.Contains(order, c.Name) {
			order = append(order, c.Name)
		}
	}
	if i, j := slices.Index(order, "RecordReacknowledgementOwed"), slices.Index(order, "AnnounceEmailBatch"); i < 0 || j < 0 || i > j {
		t.Errorf("activities in order %v: want RecordReacknowledgementOwed before AnnounceEmailBatch", order)
	}
}
