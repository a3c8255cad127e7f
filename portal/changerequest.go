package portal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/complyflow/complyflow/directory"
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
	Policies []policyOption
	Form     changeRequestForm
	Errors   []string
}

// changeRequestNew shows the form to request a policy change.
func (s *Server) changeRequestNew(w http.ResponseWriter, r *http.Request) {
	page := changeRequestPage{Form: changeRequestForm{Kind: string(policy.Material), PolicyID: r.URL.Query().Get("policy")}}
	if !s.loadPolicyOptions(w, r, &page) {
		return
	}
	s.renderChangeRequest(w, http.StatusOK, "changerequest_new.html", page)
}

// changeRequestCreate checks the form and asks the person it names to confirm
// it by email (changerequest_confirm.go): the portal has no sign-in, so the
// request starts only from the link only they receive. A problem shows the
// form again with every reason.
func (s *Server) changeRequestCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := changeRequestForm{
		Requester: strings.TrimSpace(r.PostForm.Get("requester")), PolicyID: r.PostForm.Get("policy"),
		Kind: r.PostForm.Get("kind"), Summary: strings.TrimSpace(r.PostForm.Get("summary")), Text: r.PostForm.Get("text"),
		Reference: strings.TrimSpace(r.PostForm.Get("reference")), NeedsProductionChange: r.PostForm.Get("needs_production_change") != "",
	}
	page := changeRequestPage{Form: f}
	if !s.loadPolicyOptions(w, r, &page) {
		return
	}
	page.Errors = s.checkChangeRequest(r.Context(), f, page.Policies)
	if len(page.Errors) > 0 {
		s.renderChangeRequest(w, http.StatusUnprocessableEntity, "changerequest_new.html", page)
		return
	}
	name, err := s.saveDraftAndAsk(r.Context(), f)
	switch {
	case errors.Is(err, errNoEmail), errors.Is(err, errUndeliverable):
		page.Errors = []string{fmt.Sprintf("%q has no email address the confirmation can reach (%v); an officer can file the request with `starter change-request`.", f.Requester, err)}
		s.renderChangeRequest(w, http.StatusUnprocessableEntity, "changerequest_new.html", page)
		return
	case err != nil:
		s.unavailable(w, "save change request", err)
		return
	}
	s.renderChangeRequest(w, http.StatusAccepted, "changerequest_sent.html", map[string]string{"Name": name, "Policy": f.PolicyID})
}

func (s *Server) checkChangeRequest(ctx context.Context, f changeRequestForm, policies []policyOption) []string {
	var errs []string
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
	found, active, err := directory.PersonActive(ctx, s.DB, f.Requester)
	switch {
	case err != nil:
		s.Logger.Error("check requester", "err", err)
		errs = append(errs, "Your person ID could not be checked; please try again.")
	case !found || !active:
		errs = append(errs, fmt.Sprintf("%q is not the ID of anyone in the workforce.", f.Requester))
	}
	if len(errs) == 0 {
		// Checked before anything is saved or sent, and again at confirmation:
		// the requester may not review or approve their own request, and
		// someone else must hold each role it needs.
		err := policychange.Validate(ctx, s.DB, policychange.Input{PolicyID: f.PolicyID, Kind: f.Kind, Summary: f.Summary, RequesterID: f.Requester})
		if reason, ok := refusal.Reason(err); ok {
			errs = append(errs, reason)
		} else if err != nil {
			s.Logger.Error("check the request", "err", err)
			errs = append(errs, "Who would review the request could not be checked; please try again.")
		}
	}
	return errs
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
