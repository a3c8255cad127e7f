package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	taskact "github.com/complyflow/complyflow/activities/humantask"
	"github.com/complyflow/complyflow/workflows/humantask"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"
)

// slackInteraction receives Slack's button presses. The signature and its
// timestamp are checked on the raw body before anything in it is believed.
func (s *Server) slackInteraction(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if !s.slackSigned(r.Header, body) {
		http.Error(w, "bad or stale Slack signature", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	// Slack shows the person an error unless it has its answer within three
	// seconds, and an update may take far longer (up to completeTask's 90 s):
	// answer now, then act on a context of our own, since Slack hanging up
	// cancels the request's and would abort the update halfway.
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil {
		s.Logger.Warn("Slack interaction: flush the acknowledgement", "err", err)
	}
	if cb.Type != slack.InteractionTypeBlockActions {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), slackWorkTimeout)
	defer cancel()
	for _, a := range cb.ActionCallback.BlockActions {
		action, ok := strings.CutPrefix(a.ActionID, taskact.SlackActionPrefix)
		if !ok || humantask.Action(action).NeedsNote() {
			continue // the note-taking actions are links to the portal page
		}
		msg := s.slackComplete(ctx, cb.User.ID, a.Value, humantask.Action(action))
		if msg != "" && cb.ResponseURL != "" {
			err := slack.PostWebhookContext(ctx, cb.ResponseURL, &slack.WebhookMessage{
				Text: msg, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: false,
			})
			if err != nil {
				s.Logger.Warn("Slack response_url", "err", err)
			}
		}
		return
	}
}

// slackWorkTimeout bounds what a button press does after it is answered: the
// update (at most 90 s) and the reply to Slack's response_url.
const slackWorkTimeout = 2 * time.Minute

func (s *Server) slackSigned(h http.Header, body []byte) bool {
	if s.Config.SlackSigningSecret == "" {
		return false
	}
	sv, err := slack.NewSecretsVerifier(h, s.Config.SlackSigningSecret)
	if err != nil {
		return false
	}
	sv.Write(body)
	return sv.Ensure() == nil
}

// slackComplete completes the task as the Slack user's person and returns
// what to tell them when it did not work.
func (s *Server) slackComplete(ctx context.Context, slackUser, taskID string, action humantask.Action) string {
	person, err := s.personBySlackID(ctx, slackUser, taskID)
	if err != nil {
		s.Logger.Warn("Slack user not matched to a person", "slack_user", slackUser, "task", taskID, "err", err)
		return "complyflow does not know your Slack account, so it cannot act for you. Use the link in your email."
	}
	if refused, err := leaverRefusal(ctx, s.DB, person); err != nil {
		s.Logger.Error("check whether the person has left", "person", person, "err", err)
		return "The task could not be completed just now. Please try again in a minute."
	} else if refused != "" {
		return "Not done: " + refused
	}
	_, err = completeTask(ctx, s.Temporal, taskID, humantask.CompleteRequest{Action: action, PersonID: person})
	if err == nil {
		return ""
	}
	if t, found, lerr := taskact.LoadTask(ctx, s.DB, taskID); lerr == nil && found && t.Status != "open" {
		history, _ := taskact.TaskHistory(ctx, s.DB, taskID)
		return "This task was " + closedSummary(t, cancelledAt(history)) + "."
	}
	var rejected *updateRejected
	if errors.As(err, &rejected) {
		return "Not done: " + rejected.msg
	}
	s.Logger.Error("task update from Slack failed", "task", taskID, "person", person, "err", err)
	return "The task could not be completed just now. Please try again in a minute."
}

// personBySlackID finds the person behind a Slack user: by the directory's
// slack_user_id, else by the user a message about this task was sent to
// (found by email when the directory had no Slack ID).
func (s *Server) personBySlackID(ctx context.Context, slackUser, taskID string) (string, error) {
	var ids []string
	err := s.DB.SelectContext(ctx, &ids, `
		SELECT id FROM people WHERE slack_user_id = $1 AND $1 <> ''
		UNION
		SELECT recipient_id FROM notifications
		WHERE channel = 'slack' AND status = 'sent' AND address = $1 AND task_id = $2 AND recipient_id <> ''`, slackUser, taskID)
	if err != nil {
		return "", err
	}
	if len(ids) != 1 {
		return "", errors.New("no single person has this Slack user")
	}
	return ids[0], nil
}

// rejection reports whether err is the workflow refusing the update (its
// validator or handler), as opposed to Temporal being unreachable.
func rejection(err error) (string, bool) {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Message(), true
	}
	return "", false
}
