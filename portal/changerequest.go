package main

import (
	"context"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows/policychange"

	"github.com/complyflow/complyflow/policy"
)

//go:embed templates/changerequest*.html
var changeRequestTemplateFiles embed.FS

var changeRequestTemplates = template.Must(template.ParseFS(changeRequestTemplateFiles, "templates/changerequest*.html"))

type policyOption struct {
	ID      string `db:"id"`
	Title   string `db:"title"`
	Version string `db:"version"`
}

type changeRequestForm struct {
	Requester             string
	PolicyID              string
	Kind                  string
	Summary               string
	Text                  string
	Reference             string
	NeedsProductionChange bool
}

type changeRequestPage struct {
	// SignedIn: the requester is the signed-in person, not a typed ID.
	SignedIn bool
	Policies []policyOption
	Form     changeRequestForm
	Errors   []string
}

// changeRequestNew shows the form to request a policy change.
func (s *Server) changeRequestNew(w http.ResponseWriter, r *http.Request) {
	page := changeRequestPage{Form: changeRequestForm{Kind: string(policy.Material), PolicyID: r.URL.Query().Get("policy")}}
	if p, ok := principalOf(r); ok {
		page.SignedIn, page.Form.Requester = true, p.PersonID
	}
	if !s.loadPolicyOptions(w, r, &page) {
		return
	}
	s.renderChangeRequest(w, http.StatusOK, "changerequest_new.html", page)
}

// changeRequestCreate checks the form and asks the person it names to confirm
// it by email (changerequest_confirm.go): the portal has no sign-in, so the
// request starts only from the link only they receive. A problem with the
// form shows it again with every reason; whoever the person ID names (someone,
// someone who left, nobody) the answer is the same page, so the form tells
// nobody which IDs exist. Each client address and each person ID named may
// ask only so often (ratelimit.go).
func (s *Server) changeRequestCreate(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.perAddress.allow(clientAddress(r)); !ok {
		tooManyRequests(w, "from your address", changeRequestPerAddress, wait)
		return
	}
	if !parseForm(w, r) {
		return
	}
	f := changeRequestForm{
		Requester: strings.TrimSpace(r.PostForm.Get("requester")), PolicyID: r.PostForm.Get("policy"),
		Kind: r.PostForm.Get("kind"), Summary: strings.TrimSpace(r.PostForm.Get("summary")), Text: r.PostForm.Get("text"),
		Reference: strings.TrimSpace(r.PostForm.Get("reference")), NeedsProductionChange: r.PostForm.Get("needs_production_change") != "",
	}
	p, signedIn := principalOf(r)
	if signedIn {
		f.Requester = p.PersonID
	}
	page := changeRequestPage{Form: f, SignedIn: signedIn}
	if !s.loadPolicyOptions(w, r, &page) {
		return
	}
	page.Errors = s.checkChangeRequest(r.Context(), f, page.Policies)
	if len(page.Errors) > 0 {
		s.renderChangeRequest(w, http.StatusUnprocessableEntity, "changerequest_new.html", page)
		return
	}
	if signedIn {
		// Signed in, the person is who they say: no email round trip, they
		// confirm the draft on its page at once.
		_, path, _, err := s.saveDraft(r.Context(), f)
		if err != nil {
			s.unavailable(w, "save change request", err)
			return
		}
		http.Redirect(w, r, path, http.StatusSeeOther)
		return
	}
	if ok, wait := s.perRequester.allow(f.Requester); !ok {
		tooManyRequests(w, "naming this person ID", changeRequestPerRequester, wait)
		return
	}
	if err := s.saveDraftAndAsk(r.Context(), f); err != nil {
		s.unavailable(w, "save change request", err)
		return
	}
	s.renderChangeRequest(w, http.StatusAccepted, "changerequest_sent.html", map[string]string{"Requester": f.Requester, "Policy": f.PolicyID})
}

// checkChangeRequest is what is wrong with the form itself. It says nothing
// that depends on who the person ID names: whether they exist, and whether
// they may ask (the sole officer may not), is told only to them, by email.
func (s *Server) checkChangeRequest(ctx context.Context, f changeRequestForm, policies []policyOption) []string {
	errs := fieldCapErrors(f)
	known := false
	for _, p := range policies {
		known = known || p.ID == f.PolicyID
	}
	if !known {
		errs = append(errs, "Choose the policy to change.")
	}
	if _, err := policy.ParseKind(f.Kind); err != nil {
		errs = append(errs, "Choose material or minor.")
	}
	if f.Summary == "" {
		errs = append(errs, "Summarise the change: it is what everyone is told once it is published.")
	}
	if f.Requester == "" {
		errs = append(errs, "Give your person ID.")
	}
	if len(errs) == 0 {
		// Asked for nobody: refused only when no one at all holds a role the
		// request needs (or the policy is deprecated), whoever asks.
		if reason, err := refusalOf(policychange.ValidateRoles(ctx, s.DB, f.PolicyID, f.Kind)); err != nil {
			s.Logger.Error("check approvers", "err", err)
			errs = append(errs, "Who would review the request could not be checked; please try again.")
		} else if reason != "" {
			errs = append(errs, reason)
		}
	}
	return errs
}

// refusalOf splits a validation's answer: the reason of a refusal, to show
// the person, or an error that is the portal's own trouble.
func refusalOf(err error) (string, error) {
	if reason, ok := refusal.Reason(err); ok {
		return reason, nil
	}
	return "", err
}

func (s *Server) loadPolicyOptions(w http.ResponseWriter, r *http.Request, page *changeRequestPage) bool {
	err := s.DB.SelectContext(r.Context(), &page.Policies, `
		SELECT id, title, coalesce(version || CASE WHEN revision > 0 THEN ' rev.' || revision ELSE '' END, '') AS version
		FROM policies WHERE status <> 'deprecated' ORDER BY title`)
	if err != nil {
		s.Logger.Error("list policies", "err", err)
		http.Error(w, "The policies could not be listed; please try again.", http.StatusServiceUnavailable)
		return false
	}
	return true
}

func (s *Server) renderChangeRequest(w http.ResponseWriter, status int, name string, page any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := changeRequestTemplates.ExecuteTemplate(w, name, page); err != nil {
		s.Logger.Error("render "+name, "err", err)
	}
}
