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
