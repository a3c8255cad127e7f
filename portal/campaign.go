package main

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/complyflow/complyflow/activities/campaign"
	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/links"
)

// The signing pages of acknowledgement and training campaigns (issue 11
// item 8): the email's link and the Slack DM's button both open /a/{token},
// the token naming the campaign, the channel and the person. GET shows; only
// POST records, through the Recorder, straight into Postgres.

//go:embed templates/campaign*.html
var campaignTemplateFiles embed.FS

var campaignTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"when":       notify.When,
	"paragraphs": notify.Paragraphs,
	"inc":        func(i int) int { return i + 1 },
	"isURL":      func(s string) bool { return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") },
}).ParseFS(campaignTemplateFiles, "templates/campaign*.html"))

// signingPage is what campaign.html shows.
type signingPage struct {
	View    campaign.SigningView
	Viewer  string // the person the link was made for
	Overdue bool
	// Refusal says why the person cannot sign (no assignment, left).
	Refusal string
}

// signingResult is what campaign_result.html shows; Message replaces the
// result when there is none to show (the recorder was unavailable).
type signingResult struct {
	campaign.Result
	Message string
}

// maxQuizQuestions bounds the question numbers a POST may answer.
const maxQuizQuestions = 1000

// campaignGet shows the policies to accept, or the training and its quiz.
// It changes nothing: mail scanners fetch links before people click them.
func (s *Server) campaignGet(w http.ResponseWriter, r *http.Request) {
	claims, campaignID, _, ok := s.assignmentClaims(w, r)
	if !ok {
		return
	}
	v, found, err := campaign.LoadSigningView(r.Context(), s.DB, campaignID, claims.PersonID)
	if err != nil {
		s.Logger.Error("load signing page", "campaign", campaignID, "person", claims.PersonID, "err", err)
		http.Error(w, "This page cannot be shown just now. Please try again in a minute.", http.StatusServiceUnavailable)
		return
	}
	if !found {
		http.Error(w, "This campaign does not exist (any more).", http.StatusNotFound)
		return
	}
	page := signingPage{View: v, Viewer: claims.PersonID, Overdue: v.Status == "pending" && time.Now().After(v.DueAt)}
	if v.PersonName != "" {
		page.Viewer = v.PersonName
	}
	switch {
	case v.LeftOn != nil:
		page.Refusal = "You have left (end date " + v.LeftOn.Format("2 Jan 2006") + " in the directory) and may no longer sign."
	case v.Status == "":
		page.Refusal = "You are not asked to sign in this campaign."
	case v.Status == "left":
		page.Refusal = "Your assignment in this campaign was closed: you have left."
	}
	s.renderCampaign(w, http.StatusOK, "campaign.html", page)
}

// campaignPost records the signature of the link's person, and only theirs:
// no form field names a person. The client address is the connection's
// (the portal has no trusted-proxy setting, so X-Forwarded-For is not
// believed; see clientAddress).
func (s *Server) campaignPost(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	claims, campaignID, channel, ok := s.assignmentClaims(w, r)
	if !ok {
		return
	}
	answers, ok := quizAnswers(r.PostForm)
	if !ok || r.PostFormValue("accept") != "yes" {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	res, err := s.Signatures.Sign(r.Context(), campaign.SignRequest{
		CampaignID: campaignID, PersonID: claims.PersonID, Channel: channel,
		ClientAddr: clientAddress(r), UserAgent: r.UserAgent(),
		ContentSHA256: r.PostFormValue("content_sha256"), Answers: answers,
	})
	if err != nil {
		s.Logger.Error("record signature", "campaign", campaignID, "person", claims.PersonID, "err", err)
		s.renderCampaign(w, http.StatusServiceUnavailable, "campaign_result.html",
			signingResult{Message: "Your signature could not be recorded just now. Please try again in a minute."})
		return
	}
	status := http.StatusOK
	switch res.Outcome {
	case campaign.BelowPassMark:
		status = http.StatusUnprocessableEntity
	case campaign.Refused:
		status = http.StatusForbidden
	}
	s.renderCampaign(w, status, "campaign_result.html", signingResult{Result: res})
}

// assignmentClaims verifies the link and that it was made for a campaign
// assignment (not a task or a draft), and returns the campaign and channel
// it names; anything else gets the plain 403 page.
func (s *Server) assignmentClaims(w http.ResponseWriter, r *http.Request) (c links.Claims, campaignID, channel string, ok bool) {
	if c, ok = s.linkClaims(w, r); !ok || !s.linkIsForSignedIn(w, r, c) {
		return links.Claims{}, "", "", false
	}
	if campaignID, channel, ok = campaign.ParseAssignmentSubject(c.Subject); !ok {
		s.Logger.Info("link is not for a campaign assignment", "subject", c.Subject, "remote", r.RemoteAddr)
		s.renderTask(w, http.StatusForbidden, "task_denied.html", nil)
		return links.Claims{}, "", "", false
	}
	return c, campaignID, channel, true
}

// quizAnswers reads a training form's answers: q<i> holds the indexes of the
// choices picked for question i (0-based). ok is false for a malformed field.
func quizAnswers(form url.Values) ([][]int, bool) {
	var answers [][]int
	for name, values := range form {
		rest, isAnswer := strings.CutPrefix(name, "q")
		if !isAnswer {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 || i >= maxQuizQuestions {
			return nil, false
		}
		for len(answers) <= i {
			answers = append(answers, nil)
		}
		for _, v := range values {
			c, err := strconv.Atoi(v)
			if err != nil {
				return nil, false
			}
			answers[i] = append(answers[i], c)
		}
	}
	return answers, true
}

func (s *Server) renderCampaign(w http.ResponseWriter, status int, name string, page any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := campaignTemplates.ExecuteTemplate(w, name, page); err != nil {
		s.Logger.Error("render campaign page", "template", name, "err", err)
	}
}
