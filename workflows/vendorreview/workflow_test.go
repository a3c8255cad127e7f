package vendorreview

import (
	"slices"
	"strings"
	"testing"
	"time"

	act "github.com/complyflow/complyflow/activities/vendorreview"
	"github.com/complyflow/complyflow/workflows/humantask"
	"github.com/complyflow/complyflow/workflows/internal/policytest"
)

var start = time.Date(2026, 1, 12, 9, 0, 0, 0, time.UTC)

// Nobody sends the report: the contact is reminded weekly; at the due date
// (3 weeks) the vendor's owner is asked too, a week later the security
// officer; each reminder after that goes to all of them. The owner then
// uploads it themselves with their own link.
func TestVendorReviewRemindsThenEscalatesToOwnerThenOfficer(t *testing.T) {
	h := newVendorHarness(t, start)
	id := ID("v-acme", "2026")
	sha := h.storePDF("%PDF-1.7 acme soc2", id, "olga")
	var got []string
	h.uploadAt(29*day, id, UploadRequest{SHA256: sha, Uploader: "eve"}, &got) // not asked: refused
	h.uploadAt(30*day, id, UploadRequest{SHA256: sha, Uploader: "olga"}, &got)
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: day, By: "olga", Action: humantask.ActionDone, Values: accepted("2025-12-31")})
	st, err := h.run(input())
	if err != nil {
		t.Fatal(err)
	}
	contact := act.ContactID("v-acme")
	want := []string{
		"vendor-review/request/1 " + contact,
		"vendor-review/reminder/1/1 " + contact, // day 7
		"vendor-review/reminder/1/2 " + contact, // day 14
		"vendor-review/escalated/1/1 olga",      // day 21, the due date
		"vendor-review/reminder/1/3 " + contact,
		"vendor-review/reminder/1/3 olga",
		"vendor-review/escalated/1/2 sam", // day 28
		"vendor-review/reminder/1/4 " + contact,
		"vendor-review/reminder/1/4 olga",
		"vendor-review/reminder/1/4 sam",
	}
	if got := h.sent(id); !slices.Equal(got, want) {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if want := []string{`eve refused: "eve" may not send the report of ` + id, "olga uploaded"}; !slices.Equal(got, want) {
		t.Errorf("uploads %v, want %v", got, want)
	}
	if st.Stage != act.StatusAccepted || !slices.Equal(st.Escalated, []string{"olga", "sam"}) {
		t.Errorf("status %+v: want accepted, escalated to olga then sam", st)
	}
	// The contact's mail carries an upload link signed for the contact and this cycle.
	link := h.linkIn("soc@acme.example.net", "Please send")
	claims, err := h.signer.Verify(link)
	if err != nil || claims.Subject != id || claims.PersonID != contact {
		t.Errorf("request link %q: claims %+v, %v; want the cycle %s for %s", link, claims, err, id, contact)
	}
}

// The contact uploads; the owner reviews and accepts: the cycle's record
// holds the findings, the report's SHA-256, the CUEC mapped to our control
// and the next request dated from the period end (+12 months - 60 days);
// every step is audited under the vendor due-diligence control.
func TestVendorReviewUploadReviewAccept(t *testing.T) {
	h := newVendorHarness(t, start)
	id := ID("v-acme", "2026")
	contact := act.ContactID("v-acme")
	sha := h.storePDF("%PDF-1.7 acme soc2 type ii", id, contact)
	var got []string
	h.uploadAt(2*day, id, UploadRequest{SHA256: sha, Uploader: contact, Filename: "acme-soc2.pdf"}, &got)
	h.uploadAt(3*day, id, UploadRequest{SHA256: sha, Uploader: contact}, &got) // under review: refused
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: 2 * day, By: "olga", Action: humantask.ActionDone, Values: accepted("2025-12-31")})
	st, err := h.run(input())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{contact + " uploaded", contact + " refused: " + id + " is not waiting for a report: it is received"}; !slices.Equal(got, want) {
		t.Errorf("uploads %v, want %v", got, want)
	}
	review := h.Task(humantask.ID(id, "review/1"))
	if review.AssigneeID != "olga" || review.Form == nil || !slices.Contains(review.ControlIDs, "vendor-due-diligence") {
		t.Errorf("review task %+v: want olga's, with the form, evidencing vendor-due-diligence", review)
	}
	wantNext := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) // 2025-12-31 + 12 months - 60 days
	if st.Stage != act.StatusAccepted || st.Evidence != sha || !st.NextRequestAt.Equal(wantNext) {
		t.Errorf("status %+v: want accepted, evidence %s, next request %s", st, sha, wantNext)
	}
	var row struct {
		Status, ReportType, Opinion, Firm, Sha, Decision string
		PeriodEnd, Coverage, Next                        time.Time
	}
	if err := h.DB.Owner.QueryRow(`SELECT status, report_type, opinion, audit_firm, evidence_sha256, decision, period_end, coverage_until, next_request_at
		FROM vendor_reviews WHERE id = $1`, id).Scan(&row.Status, &row.ReportType, &row.Opinion, &row.Firm, &row.Sha, &row.Decision,
		&row.PeriodEnd, &row.Coverage, &row.Next); err != nil {
		t.Fatal(err)
	}
	if row.Status != "accepted" || row.ReportType != "soc2-type2" || row.Opinion != "unqualified" || row.Firm != "Prudent & Co LLP" ||
		row.Sha != sha || row.Decision != act.DecisionAccept || !row.Next.Equal(wantNext) ||
		!row.Coverage.Equal(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("record %+v", row)
	}
	if n := h.Count(`SELECT count(*) FROM vendor_review_cuecs WHERE review_id = $1 AND control_id = 'access-reviews'`, id); n != 1 {
		t.Errorf("%d CUECs mapped to access-reviews, want 1", n)
	}
	for _, action := range []string{"vendor-review.opened", "vendor-review.request", "vendor-review.received", "vendor-review.decided"} {
		if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = $2 AND control_id = 'vendor-due-diligence'`, id, action); n != 1 {
			t.Errorf("no %s audit entry under vendor-due-diligence", action)
		}
	}
}

// The reviewer rejects the first report: the contact is asked again with the
// reviewer's note, the second report is reviewed and accepted; both
// decisions are kept.
func TestVendorReviewRejectAsksAgain(t *testing.T) {
	h := newVendorHarness(t, start)
	id := ID("v-acme", "2026")
	contact := act.ContactID("v-acme")
	first := h.storePDF("%PDF-1.4 a SOC 3", id, contact)
	second := h.storePDF("%PDF-1.7 the SOC 2 type ii", id, contact)
	var got []string
	h.uploadAt(day, id, UploadRequest{SHA256: first, Uploader: contact}, &got)
	rejected := humantask.Values{Fields: map[string]string{"report_type": "soc3", "period_start": "2025-01-01", "period_end": "2025-12-31",
		"audit_firm": "Prudent & Co LLP", "opinion": "unqualified", "bridge_letter_needed": "no", "decision": act.DecisionReject,
		"note": "a SOC 3 omits the tests of controls; please send the SOC 2 Type II"}}
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: day, By: "olga", Action: humantask.ActionDone, Values: rejected})
	h.uploadAt(5*day, id, UploadRequest{SHA256: second, Uploader: contact}, &got)
	h.On(humantask.ID(id, "review/2"), policytest.Answer{After: day, By: "olga", Action: humantask.ActionDone, Values: accepted("2025-12-31")})
	st, err := h.run(input())
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != act.StatusAccepted || st.Round != 2 || st.Evidence != second || len(st.Decisions) != 2 {
		t.Errorf("status %+v: want the second report accepted in round 2", st)
	}
	again := h.mailTo("soc@acme.example.net", "Please send")
	if len(again) != 2 || !strings.Contains(again[1], "please send the SOC 2 Type II") {
		t.Errorf("requests to the contact: %q; want a second one with the reviewer's note", again)
	}
	if n := h.Count(`SELECT count(*) FROM vendor_review_decisions WHERE review_id = $1`, id); n != 2 {
		t.Errorf("%d decisions recorded, want 2", n)
	}
	if n := h.Count(`SELECT count(*) FROM vendor_reviews WHERE id = $1 AND round = 2 AND evidence_sha256 = $2`, id, second); n != 1 {
		t.Errorf("the record is not at round 2 with the second report")
	}
	// Round 2 was asked for on day 2 (the rejection), due 3 weeks later.
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'vendor-review.re-requested'
		AND detail->>'reason' LIKE '%SOC 2 Type II' AND (detail->>'due')::timestamptz = $2`, id, start.Add(23*day)); n != 1 {
		t.Errorf("the second round's request is not audited with its reason and due date")
	}
}

// Accepted with follow-ups: each becomes a task for its owner (one not in
// the directory goes to the reviewer), due on its date; the cycle is
// accepted once both are done.
func TestVendorReviewFollowUpsTrackedToClosure(t *testing.T) {
	h := newVendorHarness(t, start)
	id := ID("v-acme", "2026")
	contact := act.ContactID("v-acme")
	sha := h.storePDF("%PDF-1.7 with exceptions", id, contact)
	var got []string
	h.uploadAt(day, id, UploadRequest{SHA256: sha, Uploader: contact}, &got)
	values := accepted("2025-12-31")
	values.Fields["decision"] = act.DecisionAcceptFollowUps
	values.Fields["exceptions"] = "CC6.1: two terminated users kept access"
	values.Lists["follow_ups"] = []map[string]string{
		{"title": "Confirm Acme fixed the deprovisioning gap", "owner": "eve", "due": "2026-02-27"},
		{"title": "Enable SSO for the Acme console", "owner": "nobody-such", "due": "2026-03-31"},
	}
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: day, By: "olga", Action: humantask.ActionDone, Values: values})
	h.On(humantask.ID(id, "follow-up/1/1"), policytest.Answer{After: 20 * day, By: "eve", Action: humantask.ActionDone})
	h.On(humantask.ID(id, "follow-up/1/2"), policytest.Answer{After: 40 * day, By: "olga", Action: humantask.ActionDone})
	h.Env.RegisterDelayedCallback(func() {
		if n := h.Count(`SELECT count(*) FROM vendor_reviews WHERE id = $1 AND status = 'follow-ups'`, id); n != 1 {
			t.Errorf("while follow-ups are open the cycle is not shown as follow-ups")
		}
	}, 10*day)
	st, err := h.run(input())
	if err != nil {
		t.Fatal(err)
	}
	one, two := h.Task(humantask.ID(id, "follow-up/1/1")), h.Task(humantask.ID(id, "follow-up/1/2"))
	if one.AssigneeID != "eve" || two.AssigneeID != "olga" {
		t.Errorf("follow-ups assigned to %s and %s, want eve and the reviewer olga", one.AssigneeID, two.AssigneeID)
	}
	if want := time.Date(2026, 2, 27, 17, 0, 0, 0, time.UTC); !one.Due.Equal(want) {
		t.Errorf("first follow-up due %s, want %s", one.Due, want)
	}
	if st.Stage != act.StatusAccepted || len(st.FollowUps) != 2 {
		t.Errorf("status %+v: want accepted with two follow-ups done", st)
	}
	if n := h.Count(`SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'vendor-review.follow-ups-closed'
		AND control_id = 'vendor-due-diligence'`, id); n != 1 {
		t.Errorf("the follow-ups' closure is not audited")
	}
	if n := h.Count(`SELECT count(*) FROM vendor_reviews WHERE id = $1 AND status = 'accepted'`, id); n != 1 {
		t.Errorf("the cycle is not accepted after its follow-ups")
	}
}

// A run continued as new while waiting for the report picks the round up
// where it was: no second request, the next reminder numbered on, the
// escalations already done not repeated, the next one on time.
func TestVendorReviewResumesAWaitingRound(t *testing.T) {
	h := newVendorHarness(t, start)
	id := ID("v-acme", "2026")
	contact := act.ContactID("v-acme")
	began := start.Add(-25 * day) // due 4 days ago, the owner asked then
	in := input()
	in.Resume = &Resume{
		Status: Status{ReviewID: id, VendorID: "v-acme", Stage: act.StatusRequested, Round: 1, Due: began.Add(21 * day), Reminders: 3,
			Entitled: []string{contact, "olga"}, Escalated: []string{"olga"}},
		Waiting: Waiting{Started: began, Steps: 1, Asked: []string{"", "olga"}},
	}
	sha := h.storePDF("%PDF-1.7 late but here", id, contact)
	var got []string
	h.uploadAt(4*day, id, UploadRequest{SHA256: sha, Uploader: "sam"}, &got)
	h.On(humantask.ID(id, "review/1"), policytest.Answer{After: day, By: "olga", Action: humantask.ActionDone, Values: accepted("2025-12-31")})
	st, err := h.run(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"vendor-review/escalated/1/2 sam", "vendor-review/reminder/1/4 " + contact, "vendor-review/reminder/1/4 olga",
		"vendor-review/reminder/1/4 sam"}
	if got := h.sent(id); !slices.Equal(got, want) {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(got, []string{"sam uploaded"}) || st.Stage != act.StatusAccepted {
		t.Errorf("uploads %v, status %+v: want sam's upload accepted", got, st)
	}
}
