package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows/policychange"

	"go.temporal.io/api/serviceerror"

	"github.com/complyflow/complyflow/internal/links"
)

// A confirmation link's claims name the draft as "change-request-draft/ID",
// so a task link can never confirm a draft, nor a draft link act on a task.
const draftLinkPrefix = "change-request-draft/"

// changeRequestDraft is a portal request waiting for its requester's
// confirmation (table change_request_drafts).
type changeRequestDraft struct {
	ID                    string         `db:"id"`
	PolicyID              string         `db:"policy_id"`
	PolicyTitle           string         `db:"policy_title"`
	Kind                  string         `db:"kind"`
	Summary               string         `db:"summary"`
	Body                  string         `db:"body"`
	Reference             string         `db:"reference"`
	NeedsProductionChange bool           `db:"needs_production_change"`
	RequesterID           string         `db:"requester_id"`
	CreatedAt             time.Time      `db:"created_at"`
	RequestID             sql.NullString `db:"request_id"`
	// Expired: created longer than draftTTL ago (by the database's clock,
	// which set created_at).
	Expired bool `db:"expired"`
}

// requestID is the PolicyChangeRequest the draft starts: derived from the
// draft, so a confirmation retried after a crash finds the one it started.
func (d changeRequestDraft) requestID() string {
	return policychange.ID(d.PolicyID, d.CreatedAt.UTC().Format("20060102-150405.000")+"-"+d.ID[:8])
}

// draftTTL is how long a draft waits for its confirmation; a confirmation
// after that is refused (the request is made again).
const draftTTL = 7 * 24 * time.Hour

// input is the change request the draft asks for.
func (d changeRequestDraft) input() policychange.Input {
	return policychange.Input{
		PolicyID: d.PolicyID, Kind: d.Kind, Summary: d.Summary, Text: d.Body, Reference: d.Reference,
		NeedsProductionChange: d.NeedsProductionChange, RequesterID: d.RequesterID,
	}
}

// saveDraftAndAsk records the form as a draft and emails the person it names
// a link to confirm it. When the ID names nobody who could confirm (unknown,
// left, no email address, an address the mail server refuses) it does
// nothing and says nothing: the form answers the same for every ID. Its
// error is the portal's own trouble (database, signing key, mail server down).
// saveDraft records the form as a draft of f.Requester's and returns the
// draft's ID, the path of its signed confirmation page and when that link
// expires.
func (s *Server) saveDraft(ctx context.Context, f changeRequestForm) (id, path string, expires time.Time, err error) {
	if s.signerErr != nil {
		return "", "", time.Time{}, s.signerErr
	}
	raw := make([]byte, 16)
	rand.Read(raw)
	id = hex.EncodeToString(raw)
	if _, err := s.DB.ExecContext(ctx, `INSERT INTO change_request_drafts
		(id, policy_id, kind, summary, body, reference, needs_production_change, requester_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, f.PolicyID, f.Kind, f.Summary, f.Text, f.Reference, f.NeedsProductionChange, f.Requester); err != nil {
		return "", "", time.Time{}, fmt.Errorf("record draft: %w", err)
	}
	expires = time.Now().Add(min(s.Config.LinkTTL, draftTTL))
	return id, "/change-requests/confirm/" + s.signer.Sign(links.Claims{Subject: draftLinkPrefix + id, PersonID: f.Requester, Expires: expires}), expires, nil
}

func (s *Server) saveDraftAndAsk(ctx context.Context, f changeRequestForm) error {
	found, active, err := directory.PersonActive(ctx, s.DB, f.Requester)
	if err != nil {
		return err
	}
	if !found || !active {
		s.Logger.Info("change request names nobody in the workforce; nothing sent", "requester", f.Requester)
		return nil
	}
	p, err := directory.LookupPerson(ctx, s.DB, f.Requester)
	if err != nil {
		return err
	}
	if p.Email == "" {
		s.Logger.Warn("change request names a person without an email address; nothing sent", "requester", p.ID)
		return nil
	}
	id, path, expires, err := s.saveDraft(ctx, f)
	if err != nil {
		return err
	}
	link := s.Config.PortalBaseURL + path
	text := fmt.Sprintf(`Hello %s,

A request to change the policy %s was made in the complyflow portal in your name:

%s

It goes to the officers for review only once you confirm it. Open this link to
see the request and confirm it by %s:

%s

If you did not make this request, ignore this email: nothing happens without
your confirmation.
`, p.Name, f.PolicyID, f.Summary, notify.When(expires), link)
	var html strings.Builder
	if err := changeRequestTemplates.ExecuteTemplate(&html, "changerequest_email.html", map[string]string{
		"Name": p.Name, "Policy": f.PolicyID, "Summary": f.Summary, "Link": link, "By": notify.When(expires),
	}); err != nil {
		return err
	}
	sent, err := notify.SendOnce(ctx, s.DB, notify.Notification{
		IdempotencyKey: notify.NotificationKey(draftLinkPrefix+id, "confirm"), Channel: notify.ChannelEmail,
		RecipientID: p.ID, Purpose: "change-request-confirmation",
	}, func(ctx context.Context, n *notify.Notification) error {
		n.Address = p.Email
		ref, err := s.Mailer.Send(ctx, notify.Email{To: p.Email, ToName: p.Name,
			Subject: "Confirm your policy change request: " + f.PolicyID, Text: text, HTML: html.String(), IdempotencyKey: n.IdempotencyKey})
		n.ProviderRef = ref
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("send the confirmation: %w", err)
	case sent.Status == notify.StatusFailed:
		s.Logger.Warn("change request confirmation undeliverable", "requester", p.ID, "err", sent.Error)
	}
	return nil
}

// changeRequestConfirmGet shows the draft behind a confirmation link. Like a
// task page it changes nothing: mail scanners fetch links.
func (s *Server) changeRequestConfirmGet(w http.ResponseWriter, r *http.Request) {
	d, ok := s.unconfirmedDraft(w, r)
	if !ok {
		return
	}
	// Whether this requester may ask is told only here, to them (the form
	// answers the same for everyone); the confirmation checks it again.
	if refusal, err := refusalOf(policychange.Validate(r.Context(), s.DB, d.input())); err != nil {
		s.unavailable(w, "check approvers", err)
		return
	} else if refusal != "" {
		http.Error(w, "This request cannot go to review: "+refusal, http.StatusConflict)
		return
	}
	s.renderChangeRequest(w, http.StatusOK, "changerequest_confirm.html", d)
}

// changeRequestConfirmPost starts the PolicyChangeRequest the draft
// describes, as its requester, and marks the draft confirmed. A second
// confirmation shows the request the first one started.
func (s *Server) changeRequestConfirmPost(w http.ResponseWriter, r *http.Request) {
	d, ok := s.unconfirmedDraft(w, r)
	if !ok {
		return
	}
	id := d.requestID()
	// A run under this ID was started by an earlier confirmation whose record
	// then failed: finish recording it, whatever has changed since.
	_, err := s.Temporal.DescribeWorkflowExecution(r.Context(), id, "")
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		s.confirmDraft(w, r, d, id, http.StatusOK, true)
		return
	case !errors.As(err, &notFound):
		s.unavailable(w, "look up change request", err)
		return
	}
	in := d.input()
	// The requester may have left, or the roles changed, since the form was checked.
	if err := policychange.Validate(r.Context(), s.DB, in); err != nil {
		if reason, ok := refusal.Reason(err); ok {
			http.Error(w, "This request cannot go to review: "+reason, http.StatusConflict)
			return
		}
		s.unavailable(w, "check the request", err)
		return
	}
	// A confirmation racing this one must not start a second run under the
	// ID once the first has closed: Start refuses a duplicate.
	already, err := policychange.Start(r.Context(), s.Temporal, s.Config.TaskQueue, id, in)
	if err != nil {
		s.unavailable(w, "start change request", err)
		return
	}
	if already {
		s.confirmDraft(w, r, d, id, http.StatusOK, true)
		return
	}
	s.confirmDraft(w, r, d, id, http.StatusCreated, false)
}

// confirmDraft records that the draft started request id and shows it.
func (s *Server) confirmDraft(w http.ResponseWriter, r *http.Request, d changeRequestDraft, id string, status int, already bool) {
	if _, err := s.DB.ExecContext(r.Context(), `UPDATE change_request_drafts SET request_id = $2, confirmed_at = now()
		WHERE id = $1 AND request_id IS NULL`, d.ID, id); err != nil {
		s.unavailable(w, "confirm draft", err)
		return
	}
	s.renderChangeRequest(w, status, "changerequest_created.html", createdPage{ID: id, Policy: d.PolicyID, Already: already})
}

// unconfirmedDraft is the draft behind the link, if it is still to be
// confirmed; a confirmed one gets the page of the request it started.
func (s *Server) unconfirmedDraft(w http.ResponseWriter, r *http.Request) (changeRequestDraft, bool) {
	d, ok := s.loadDraft(w, r)
	if ok && d.RequestID.Valid {
		s.renderChangeRequest(w, http.StatusOK, "changerequest_created.html", createdPage{ID: d.RequestID.String, Policy: d.PolicyID, Already: true})
		return changeRequestDraft{}, false
	}
	if ok && d.Expired {
		http.Error(w, fmt.Sprintf("This change request was not confirmed within %d days of being made (%s) and has expired: nothing was started. "+
			"Make the request again at /change-requests/new.", int(draftTTL.Hours()/24), notify.When(d.CreatedAt)), http.StatusGone)
		return changeRequestDraft{}, false
	}
	return d, ok
}

// loadDraft verifies the confirmation link and loads the draft it names.
func (s *Server) loadDraft(w http.ResponseWriter, r *http.Request) (changeRequestDraft, bool) {
	claims, ok := s.linkClaims(w, r)
	if !ok {
		return changeRequestDraft{}, false
	}
	id, isDraft := strings.CutPrefix(claims.Subject, draftLinkPrefix)
	if !isDraft {
		s.Logger.Info("confirmation link refused: not a draft link", "claims", claims.Subject, "remote", r.RemoteAddr)
		s.renderTask(w, http.StatusForbidden, "task_denied.html", nil)
		return changeRequestDraft{}, false
	}
	var d changeRequestDraft
	err := s.DB.GetContext(r.Context(), &d, `
		SELECT d.id, d.policy_id, p.title AS policy_title, d.kind, d.summary, d.body, d.reference,
		       d.needs_production_change, d.requester_id, d.created_at, d.request_id,
		       d.created_at < now() - make_interval(secs => $3) AS expired
		FROM change_request_drafts d JOIN policies p ON p.id = d.policy_id
		WHERE d.id = $1 AND d.requester_id = $2`, id, claims.PersonID, draftTTL.Seconds())
	switch {
	case errors.Is(err, sql.ErrNoRows):
		http.Error(w, "This change request does not exist.", http.StatusNotFound)
		return changeRequestDraft{}, false
	case err != nil:
		s.unavailable(w, "load draft", err)
		return changeRequestDraft{}, false
	}
	return d, true
}

func (s *Server) unavailable(w http.ResponseWriter, what string, err error) {
	s.Logger.Error(what, "err", err)
	http.Error(w, "Something went wrong on our side; please try again in a minute.", http.StatusServiceUnavailable)
}

// createdPage is what changerequest_created.html shows.
type createdPage struct {
	ID, Policy string
	Already    bool
}
