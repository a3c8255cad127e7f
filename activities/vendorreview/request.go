package vendorreview

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/directory"
)

// RequestInput is one message asking for a cycle's report: to the vendor's
// contact (PersonID empty) or to a person escalated to (the vendor's owner,
// the security officer), each with an upload link signed for them.
// Purpose ("request/1", "reminder/1/2", "escalated/1/1") with the cycle and
// recipient makes the idempotency key.
type RequestInput struct {
	ID       string
	VendorID string
	PersonID string
	Purpose  string
	Due      time.Time
	// Reason is why the report is asked for again: the reviewer's note on
	// the one rejected. Empty for a first request.
	Reason   string `json:",omitempty"`
	Controls []string
}

// RequestResult is what became of the message.
type RequestResult struct {
	Status string // notify.StatusSent or notify.StatusFailed
	Error  string `json:",omitempty"`
}

// UploadPath is the portal page a signed upload link opens.
func UploadPath(token string) string { return "/v/" + token }

// SendRequest emails the request once under its key and audits it under the
// cycle's controls.
func (a *Activities) SendRequest(ctx context.Context, in RequestInput) (RequestResult, error) {
	v, err := LookupVendor(ctx, a.DB, in.VendorID)
	if err != nil {
		return RequestResult{}, err
	}
	to, toName, recipient := v.ContactEmail, v.Name, ContactID(v.ID)
	if in.PersonID != "" {
		p, err := directory.LookupPerson(ctx, a.DB, in.PersonID)
		if err != nil {
			return RequestResult{}, err
		}
		to, toName, recipient = p.Email, p.Name, p.ID
	}
	key := notify.NotificationKey(in.ID, in.Purpose, notify.ChannelEmail, recipient)
	subject, text := requestText(v, in, a.link(in.ID, recipient, in.Due))
	rec, err := notify.SendOnce(ctx, a.DB, notify.Notification{IdempotencyKey: key, Channel: notify.ChannelEmail, RecipientID: recipient,
		Address: to, Purpose: "vendor-review/" + in.Purpose, TaskID: in.ID},
		func(ctx context.Context, n *notify.Notification) error {
			ref, err := a.Mailer.Send(ctx, notify.Email{To: to, ToName: toName, Subject: subject, Text: text,
				HTML: notify.TextHTML(text), IdempotencyKey: key})
			n.ProviderRef = ref
			return err
		})
	if err != nil {
		return RequestResult{}, notify.ActivityError(err)
	}
	if err := audit.Write(ctx, a.DB, audit.Entry{Actor: "complyflow", Action: "vendor-review." + strings.Split(in.Purpose, "/")[0], Subject: in.ID,
		Controls: in.Controls, Detail: map[string]any{"to": recipient, "status": rec.Status, "error": rec.Error, "notification": key},
		Key: key}); err != nil {
		return RequestResult{}, err
	}
	return RequestResult{Status: rec.Status, Error: rec.Error}, nil
}

// link is the signed upload link for recipient, valid until a month after
// the due date or for LinkTTL, whichever is longer: escalations come after
// the due date, and whoever they reach may upload too.
func (a *Activities) link(reviewID, recipient string, due time.Time) string {
	expires := time.Now().Add(a.LinkTTL)
	if late := due.Add(30 * 24 * time.Hour); late.After(expires) {
		expires = late
	}
	return a.BaseURL + UploadPath(a.Links.Sign(linkClaims(reviewID, recipient, expires)))
}

// requestText is the message: what to send and where, per the list
// of acceptable reports, and the bridge letter rule.
func requestText(v Vendor, in RequestInput, link string) (subject, text string) {
	var b strings.Builder
	kind := strings.Split(in.Purpose, "/")[0]
	switch kind {
	case "reminder":
		subject = fmt.Sprintf("Reminder: %s's SOC 2 report for our vendor review", v.Name)
	case "escalated":
		subject = fmt.Sprintf("Overdue: %s has not sent its SOC 2 report", v.Name)
		fmt.Fprintf(&b, "%s (%s) was asked for its security report and has not sent it by %s. As its owner, please chase it, "+
			"or upload it yourself with the link below.\n\n", v.Name, v.ContactEmail, in.Due.UTC().Format(time.DateOnly))
	default:
		subject = fmt.Sprintf("Please send %s's SOC 2 report for our vendor review", v.Name)
	}
	if in.Reason != "" {
		fmt.Fprintf(&b, "The report sent before could not be accepted: %s\n\n", in.Reason)
	}
	fmt.Fprintf(&b, "Hello,\n\nas part of our annual vendor due diligence, please upload %s's current security report by %s:\n\n"+
		"- a SOC 2 Type II report, or its equivalent: an ISO 27001 certificate, a SOC 3 report, or a completed security questionnaire;\n"+
		"- plus a bridge letter if the report's period ended more than 3 months ago, in the same PDF.\n\n"+
		"Upload it as a PDF here (no account needed):\n%s\n\nThank you.\n",
		v.Name, in.Due.UTC().Format(time.DateOnly), link)
	return subject, b.String()
}
