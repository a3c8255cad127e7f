package workflows

import (
	"slices"
	"testing"
	"time"
)

// A mail misconfiguration after the publish does not fail the run: the
// re-acknowledgement owed is recorded first, the request is announcing (in
// the status query and the records) while the announcement is retried, and
// once the configuration is fixed everyone is told and the request is
// published.
func TestPolicyChangeAnnouncementOutlastsAMailMisconfiguration(t *testing.T) {
	h := newPolicyHarness(t, time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC))
	h.mailer.From = "complyflow at example dot com" // SMTP_FROM that does not parse
	id := PolicyChangeRequestID("access", "bad-from")
	h.on(HumanTaskID(id, "review/1"), answer{after: day, by: "sam", action: ActionApprove})
	h.on(HumanTaskID(id, "second-approval/1"), answer{after: day, by: "cleo", action: ActionApprove})
	var during PolicyChangeStatus
	var status string
	var owed, announced, attempts int
	// Published two days in; half an hour later the announcement is still
	// failing (fixed then: the test environment gives up after 10 attempts,
	// where the server retries for as long as it takes).
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryStatus)
		if err == nil {
			err = v.Get(&during)
		}
		if err != nil {
			t.Errorf("status query: %v", err)
		}
		h.db.Owner.Get(&status, `SELECT status FROM change_requests WHERE id = $1`, id)
		owed = h.count(`SELECT count(*) FROM policy_acknowledgements_owed WHERE change_request_id = $1`, id)
		announced = h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.announced'`, id)
		attempts = len(h.calls("AnnounceEmailBatch"))
		h.mailer.From = "complyflow@example.com" // fixed
	}, 2*day+30*time.Minute)
	st := h.runChange(id, PolicyChangeInput{PolicyID: "access", Kind: "material", Summary: "require MFA", Text: "v2", RequesterID: "eve"})

	if during.Stage != StageAnnouncing || during.Version != "2023.2" || status != "announcing" {
		t.Errorf("while the announcement failed: query %+v, records %q; want announcing 2023.2 in both", during, status)
	}
	if owed != 1 || announced != 0 || attempts < 3 {
		t.Errorf("while the announcement failed: %d re-acknowledgements owed, %d announced entries, %d batch attempts; "+
			"want the re-acknowledgement owed, no announcement recorded, the batch retried", owed, announced, attempts)
	}
	if st.Stage != StagePublished || st.Announced != 6 || len(h.sink.Messages()) != 6 {
		t.Errorf("result %+v, %d mails: want published and the 6 active people told once fixed", st, len(h.sink.Messages()))
	}
	if n := h.count(`SELECT count(*) FROM change_requests WHERE id = $1 AND status = 'published' AND closed_at IS NOT NULL`, id); n != 1 {
		t.Error("the request is not recorded as published once announced")
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'policy.change.announced' AND (detail->>'emailed')::int = 6`, id); n != 1 {
		t.Error("the announcement is not in the audit log")
	}
	// The owed re-acknowledgement needs only the database: recorded before any announcing.
	var order []string
	for _, c := range h.activities {
		if !slices.Contains(order, c.name) {
			order = append(order, c.name)
		}
	}
	if i, j := slices.Index(order, "RecordReacknowledgementOwed"), slices.Index(order, "AnnounceEmailBatch"); i < 0 || j < 0 || i > j {
		t.Errorf("activities in order %v: want RecordReacknowledgementOwed before AnnounceEmailBatch", order)
	}
}
