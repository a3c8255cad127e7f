// The offboarding form (issue 15 item 3: a manager "starts offboarding", an
// officer "starts processes"): the signed-in manager chooses one of their
// reports, the last day and a reason; the same Validate and Start as
// `starter offboard` decide and start it. The status page shows each
// system's removal step.

package main

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/api/serviceerror"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/audit"
	"github.com/complyflow/complyflow/dashboard"
	"github.com/complyflow/complyflow/internal/refusal"
	"github.com/complyflow/complyflow/workflows"
	"github.com/complyflow/complyflow/workflows/offboarding"
)

//go:embed templates/layout.html templates/offboarding.html
var offboardingTemplateFiles embed.FS

var offboardingTemplates = template.Must(template.New("").Funcs(template.FuncMap{"when": notify.When}).
	ParseFS(offboardingTemplateFiles, "templates/layout.html", "templates/offboarding.html"))

// maxOffboardingReason bounds the recorded reason.
const maxOffboardingReason = 2000

// offboardingForm is what offboarding_new.html shows.
type offboardingForm struct {
	Leavers                 []offboarding.Leaver
	Person, LastDay, Reason string
	Error                   string
}

// offboardingStarted is what offboarding_started.html shows.
type offboardingStarted struct {
	ID string
	offboarding.Input
}

func (s *Server) offboardingNewGet(w http.ResponseWriter, r *http.Request, p Principal) {
	form := offboardingForm{LastDay: time.Now().UTC().Format(time.DateOnly)}
	if err := s.loadLeavers(r.Context(), p, &form); err != nil {
		s.unavailable(w, "list leavers", err)
		return
	}
	s.renderOffboarding(w, http.StatusOK, "offboarding_new.html", form)
}

func (s *Server) loadLeavers(ctx context.Context, p Principal, form *offboardingForm) error {
	return s.inScope(ctx, p, func(tx *sqlx.Tx) error {
		var err error
		form.Leavers, err = offboarding.Leavers(ctx, tx, p.PersonID)
		return err
	})
}

// offboardingNewPost starts the offboarding the form asks for, started by
// the signed-in person. A refusal shows on the form (400) and starts
// nothing; one for a person the starter may not offboard is audited.
func (s *Server) offboardingNewPost(w http.ResponseWriter, r *http.Request, p Principal) {
	form := offboardingForm{Person: strings.TrimSpace(r.PostFormValue("person")), LastDay: strings.TrimSpace(r.PostFormValue("last_day")),
		Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	refuse := func(msg string) {
		form.Error = msg
		if err := s.loadLeavers(r.Context(), p, &form); err != nil {
			s.unavailable(w, "list leavers", err)
			return
		}
		s.renderOffboarding(w, http.StatusBadRequest, "offboarding_new.html", form)
	}
	switch {
	case form.Person == "":
		refuse("Choose the person leaving.")
		return
	case form.LastDay == "":
		refuse("Give their last day.")
		return
	case len(form.Reason) > maxOffboardingReason:
		refuse("The reason is too long: at most 2000 characters.")
		return
	}
	in := offboarding.Input{PersonID: form.Person, LastDay: form.LastDay, StartedBy: p.PersonID, Reason: form.Reason}
	err := s.inScope(r.Context(), p, func(tx *sqlx.Tx) error { return offboarding.Validate(r.Context(), tx, in) })
	if errors.Is(err, offboarding.ErrNotAllowed) {
		reason, _ := refusal.Reason(err)
		if err := audit.Write(r.Context(), s.DB, audit.Entry{Actor: p.PersonID, Action: "offboarding.refused", Subject: offboarding.ID(form.Person),
			Detail: map[string]string{"role": string(p.Role), "address": clientAddress(r), "reason": reason}}); err != nil {
			s.unavailable(w, "audit a refused offboarding", err)
			return
		}
		refuse(form.Person + " is not someone you may offboard: only the people who report to you, directly or through another manager " +
			"(a security officer: anyone).")
		return
	}
	var id string
	if err == nil {
		id, err = offboarding.Start(r.Context(), s.Temporal, s.Config.TaskQueue, in)
	}
	if reason, ok := refusal.Reason(err); ok {
		refuse(reason)
		return
	}
	if err != nil {
		s.unavailable(w, "start an offboarding", err)
		return
	}
	s.renderOffboarding(w, http.StatusOK, "offboarding_started.html", offboardingStarted{ID: id, Input: in})
}

// offboardingStatus shows a person's offboarding, step by step: an officer
// anyone's, a manager their reports' (anyone else's is refused and audited).
func (s *Server) offboardingStatus(w http.ResponseWriter, r *http.Request, p Principal) {
	person := r.PathValue("person")
	if p.Role != RoleOfficer {
		var reports []string
		err := s.inScope(r.Context(), p, func(tx *sqlx.Tx) error {
			var err error
			reports, err = dashboard.Reports(r.Context(), tx, p.PersonID)
			return err
		})
		if err != nil {
			s.unavailable(w, "list reports", err)
			return
		}
		if !slices.Contains(reports, person) {
			s.refuseRole(w, r, p)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	v, err := s.Temporal.QueryWorkflow(ctx, offboarding.ID(person), "", workflows.QueryStatus)
	var st offboarding.Status
	if err == nil {
		err = v.Get(&st)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		http.Error(w, "No offboarding of "+person+" was started.", http.StatusNotFound)
		return
	}
	if err != nil {
		s.unavailable(w, "query an offboarding", err)
		return
	}
	s.renderOffboarding(w, http.StatusOK, "offboarding_status.html", st)
}

func (s *Server) renderOffboarding(w http.ResponseWriter, status int, name string, page any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := offboardingTemplates.ExecuteTemplate(w, name, page); err != nil {
		s.Logger.Error("render "+name, "err", err)
	}
}
