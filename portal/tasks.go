package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/directory"
	"github.com/complyflow/complyflow/evidence"
	"github.com/complyflow/complyflow/workflows/humantask"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"

	"github.com/complyflow/complyflow/internal/links"
)

//go:embed templates/task*.html templates/vendor*.html
var taskTemplateFiles embed.FS

var taskTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"when":       notify.When,
	"paragraphs": notify.Paragraphs,
	"label":      func(s string) string { return humantask.Action(s).Label() },
	"detail":     eventDetail,
	"past":       func(s string) string { return humantask.Action(s).Past() },
	"join":       strings.Join,
}).ParseFS(taskTemplateFiles, "templates/task*.html", "templates/vendor*.html"))

// taskPage is what task.html and task_result.html show.
type taskPage struct {
	Task    taskact.TaskRecord
	History []taskact.TaskEvent
	Viewer  string // the person the link was made for
	Overdue bool
	// CancelledAt is when a cancelled task was given up, when its history says.
	CancelledAt time.Time
	// Form is the task's form, Fields it laid out, Values what completed it.
	Form   *humantask.Form
	Fields []fieldView
	Values humantask.Values
	// Files are the evidence uploaded for the task's process (a vendor's
	// report to review), served under the task's link (Token).
	Files []evidence.Stored
	Token string
	// Multipart: the form has a file field, so the page posts multipart.
	Multipart bool
	// Result pages only.
	Done    bool
	Message string
}

// taskGet shows the task behind a signed link. It changes nothing: mail
// scanners fetch links before people click them.
func (s *Server) taskGet(w http.ResponseWriter, r *http.Request) {
	claims, ok := s.linkClaims(w, r)
	if !ok || !s.linkIsForSignedIn(w, r, claims) {
		return
	}
	page, ok := s.loadTaskPage(w, r, claims)
	if !ok {
		return
	}
	s.renderTask(w, http.StatusOK, "task.html", page)
}

// taskPost performs the chosen action through the workflow's update, which
// decides whether it is allowed, and shows the result.
func (s *Server) taskPost(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	claims, ok := s.linkClaims(w, r)
	if !ok || !s.linkIsForSignedIn(w, r, claims) {
		return
	}
	page, ok := s.loadTaskPage(w, r, claims)
	if !ok {
		return
	}
	if page.Task.Status != "open" {
		s.renderTask(w, http.StatusConflict, "task_result.html", alreadyDone(page))
		return
	}
	if refused, err := leaverRefusal(r.Context(), s.DB, claims.PersonID); err != nil {
		s.Logger.Error("check whether the person has left", "person", claims.PersonID, "err", err)
		page.Message = "The task could not be completed just now. Please try again in a minute."
		s.renderTask(w, http.StatusServiceUnavailable, "task_result.html", page)
		return
	} else if refused != "" {
		page.Message = "Not done: " + refused
		s.renderTask(w, http.StatusForbidden, "task_result.html", page)
		return
	}
	req := humantask.CompleteRequest{
		Action:   humantask.Action(r.PostFormValue("action")),
		PersonID: claims.PersonID,
		Note:     r.PostFormValue("note"),
	}
	if page.Form.Applies(req.Action) {
		// Checked here as the workflow's validator checks it, so the person
		// is told what to fix without a refused update in the history.
		req.Values = formValues(page.Form, r)
		files, status, msg := s.formFiles(page.Form, r, &req.Values)
		defer removeAll(files)
		if msg == "" {
			if err := page.Form.Validate(req.Values); err != nil {
				status, msg = http.StatusUnprocessableEntity, "the form is not filled in as it must be: "+err.Error()
			}
		}
		if msg == "" {
			status, msg = s.storeFormFiles(r.Context(), files, page.Task, claims.PersonID)
		}
		if msg != "" {
			page.Message = "Not done: " + msg
			s.renderTask(w, status, "task_result.html", page)
			return
		}
	}
	_, err := completeTask(r.Context(), s.Temporal, page.Task.ID, req)
	if err == nil {
		page, ok = s.loadTaskPage(w, r, claims)
		if !ok {
			return
		}
		page.Done = true
		s.renderTask(w, http.StatusOK, "task_result.html", page)
		return
	}
	// Someone may have completed it between our read and the update.
	if again, ok := s.loadTaskPage(w, r, claims); !ok {
		return
	} else if again.Task.Status != "open" {
		s.renderTask(w, http.StatusConflict, "task_result.html", alreadyDone(again))
		return
	}
	var rejected *updateRejected
	if errors.As(err, &rejected) {
		page.Message = "Not done: " + rejected.msg
		s.renderTask(w, http.StatusUnprocessableEntity, "task_result.html", page)
		return
	}
	s.Logger.Error("task update failed", "task", page.Task.ID, "person", claims.PersonID, "err", err)
	page.Message = "The task could not be completed just now. Please try again in a minute."
	s.renderTask(w, http.StatusServiceUnavailable, "task_result.html", page)
}

func alreadyDone(p taskPage) taskPage {
	p.Done = true
	p.Message = "This task was " + closedSummary(p.Task, p.CancelledAt) + "."
	return p
}

// closedSummary says how a closed task ended: who did what, or that it was
// cancelled (a cancelled task has no outcome to show).
func closedSummary(t taskact.TaskRecord, cancelledAt time.Time) string {
	if t.Status == "cancelled" {
		if cancelledAt.IsZero() {
			return "cancelled: nothing more is needed"
		}
		return "cancelled at " + notify.When(cancelledAt) + ": nothing more is needed"
	}
	return "already done by " + t.OutcomeByName + " (" + t.OutcomeAction + ") at " + notify.When(t.CompletedAt.Time)
}

// cancelledAt is when the history records the task's cancellation, if it does.
func cancelledAt(history []taskact.TaskEvent) time.Time {
	for _, e := range history {
		if e.Kind == "cancelled" {
			return e.CreatedAt
		}
	}
	return time.Time{}
}

// linkClaims verifies the link's token; a bad one gets a plain 403 page that
// says nothing about why.
func (s *Server) linkClaims(w http.ResponseWriter, r *http.Request) (links.Claims, bool) {
	err := s.signerErr
	if err == nil {
		var c links.Claims
		if c, err = s.signer.Verify(r.PathValue("token")); err == nil {
			return c, true
		}
	}
	s.Logger.Info("task link refused", "err", err, "remote", r.RemoteAddr)
	s.renderTask(w, http.StatusForbidden, "task_denied.html", nil)
	return links.Claims{}, false
}

func (s *Server) loadTaskPage(w http.ResponseWriter, r *http.Request, c links.Claims) (taskPage, bool) {
	t, found, err := taskact.LoadTask(r.Context(), s.DB, c.Subject)
	var history []taskact.TaskEvent
	if err == nil && found {
		history, err = taskact.TaskHistory(r.Context(), s.DB, c.Subject)
	}
	if err != nil {
		s.Logger.Error("load task", "task", c.Subject, "err", err)
		http.Error(w, "The task cannot be shown just now. Please try again in a minute.", http.StatusServiceUnavailable)
		return taskPage{}, false
	}
	if !found {
		http.Error(w, "This task does not exist (any more).", http.StatusNotFound)
		return taskPage{}, false
	}
	viewer := c.PersonID
	if p, err := directory.LookupPerson(r.Context(), s.DB, c.PersonID); err == nil {
		viewer = p.Name
	}
	page := taskPage{Task: t, History: history, Viewer: viewer, Overdue: t.Status == "open" && time.Now().After(t.Due),
		CancelledAt: cancelledAt(history), Token: r.PathValue("token")}
	if page.Form, err = formOf(t.Form); err == nil && len(t.OutcomeValues) > 0 {
		err = json.Unmarshal(t.OutcomeValues, &page.Values)
	}
	for _, subject := range []string{t.ParentRef, t.ID} {
		if err == nil && subject != "" {
			var files []evidence.Stored
			files, err = evidence.UploadsOf(r.Context(), s.DB, subject)
			page.Files = append(page.Files, files...)
		}
	}
	if err != nil {
		s.Logger.Error("load task", "task", c.Subject, "err", err)
		http.Error(w, "The task cannot be shown just now. Please try again in a minute.", http.StatusServiceUnavailable)
		return taskPage{}, false
	}
	page.Fields, page.Multipart = formViews(page.Form), hasFile(page.Form)
	return page, true
}

func (s *Server) renderTask(w http.ResponseWriter, status int, name string, page any) {
	// The security headers (no-store, no-referrer: the token is in the URL)
	// are every response's: headers.go.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := taskTemplates.ExecuteTemplate(w, name, page); err != nil {
		s.Logger.Error("render task page", "template", name, "err", err)
	}
}

// leaverRefusal says why person may not act when they have left. The
// workflow refuses them too, when it records the outcome; asking first spares
// a refused attempt in the task's history.
func leaverRefusal(ctx context.Context, db *sqlx.DB, person string) (string, error) {
	err := directory.CheckNotLeft(ctx, db, person)
	if msg, ok := rejection(err); ok {
		return msg, nil
	}
	return "", err
}

// updateRejected is the workflow's validator refusing a completion; its
// message is written for the person who asked.
type updateRejected struct{ msg string }

func (e *updateRejected) Error() string { return e.msg }

// completeTask asks the task's workflow to complete and waits for the answer.
func completeTask(ctx context.Context, c client.Client, taskID string, req humantask.CompleteRequest) (humantask.Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: taskID, UpdateName: humantask.UpdateComplete, Args: []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var out humantask.Outcome
	if err == nil {
		err = h.Get(ctx, &out)
	}
	if err != nil {
		if msg, ok := rejection(err); ok {
			return out, &updateRejected{msg}
		}
		return out, err
	}
	return out, nil
}

// eventDetail shows an event's detail as "key: value" pairs in key order, so
// the page says who a task was escalated to and why someone was unreachable.
func eventDetail(raw json.RawMessage) string {
	var d map[string]any
	if json.Unmarshal(raw, &d) != nil || len(d) == 0 {
		return ""
	}
	parts := make([]string, 0, len(d))
	for _, k := range slices.Sorted(maps.Keys(d)) {
		v := d[k]
		if list, ok := v.([]any); ok {
			strs := make([]string, len(list))
			for i, x := range list {
				strs[i] = fmt.Sprint(x)
			}
			v = strings.Join(strs, ", ")
		}
		parts = append(parts, fmt.Sprintf("%s: %v", k, v))
	}
	return strings.Join(parts, "; ")
}
