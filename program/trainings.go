package program

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"github.com/complyflow/complyflow/internal/period"
	"gopkg.in/yaml.v3"

	campaignact "github.com/complyflow/complyflow/activities/campaign"
)

// Training is a training course people complete in a security-training
// campaign (security-architecture §9: awareness training "not annually,
// but monthly"): its content in a file (shown in the portal, its SHA-256
// recorded with each completion) or at a URL, and an optional quiz.
type Training struct {
	ID            string
	Title         string
	Source        string
	Content       string
	ContentSHA256 string
	Quiz          []Question
	// PassMark is how many questions must be answered exactly right.
	PassMark int
}

// Question is one quiz question; Correct holds the indexes of the right
// choices (the file names them by their text).
type Question struct {
	Question string   `json:"question"`
	Choices  []string `json:"choices"`
	Correct  []int    `json:"correct"`
}

func (p *parser) training(n *yaml.Node, field string) {
	var t Training
	var sources int
	source := func(v *yaml.Node, f string) {
		t.Source = p.text(v, f)
		sources++
	}
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"id":    func(v *yaml.Node, f string) { t.ID = p.id(v, f, p.trainings) },
		"title": func(v *yaml.Node, f string) { t.Title = p.text(v, f) },
		"file": func(v *yaml.Node, f string) {
			source(v, f)
			if t.Source != "" && p.opts.PolicyDir != "" {
				t.Content, t.ContentSHA256 = p.policyText(v, f, t.Source)
			}
		},
		"url":  source,
		"quiz": func(v *yaml.Node, f string) { t.Quiz, t.PassMark = p.quiz(v, f) },
	}, "id", "title")
	if n.Kind == yaml.MappingNode && sources != 1 {
		p.fail(n, field, "give the training's content as exactly one of file or url")
	}
	if t.Source != "" && t.ContentSHA256 == "" && t.Content == "" {
		// A URL: the completion records the address as what was taken.
		sum := sha256.Sum256([]byte(t.Source))
		t.ContentSHA256 = hex.EncodeToString(sum[:])
	}
	p.prog.Trainings = append(p.prog.Trainings, t)
}

// quiz reads {pass_mark, questions: [{question, choices, correct}]}.
func (p *parser) quiz(n *yaml.Node, field string) ([]Question, int) {
	var qs []Question
	mark := 0
	var markNode *yaml.Node
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"pass_mark": func(v *yaml.Node, f string) {
			markNode = v
			m, err := strconv.Atoi(v.Value)
			if err != nil || m < 1 {
				p.fail(v, f, "%s: expected the number of questions to answer right (1 or more)", describe(v))
				return
			}
			mark = m
		},
		"questions": func(v *yaml.Node, f string) {
			p.each(v, f, func(el *yaml.Node, f string) {
				var q Question
				var correct []item
				p.mapping(el, f, map[string]func(*yaml.Node, string){
					"question": func(v *yaml.Node, f string) { q.Question = p.text(v, f) },
					"choices":  func(v *yaml.Node, f string) { q.Choices = values(p.list(v, f)) },
					"correct":  func(v *yaml.Node, f string) { correct = p.list(v, f) },
				}, "question", "choices", "correct")
				if len(q.Choices) > 0 && len(q.Choices) < 2 {
					p.fail(el, join(f, "choices"), "a question needs at least two choices")
				}
				for _, c := range correct {
					i := slices.Index(q.Choices, c.value)
					if i < 0 {
						p.errs = append(p.errs, Error{p.file, c.line, c.field, fmt.Sprintf("%q is not one of the question's choices", c.value)})
						continue
					}
					q.Correct = append(q.Correct, i)
				}
				qs = append(qs, q)
			})
		},
	}, "pass_mark", "questions")
	if markNode != nil && mark > len(qs) {
		p.fail(markNode, join(field, "pass_mark"), "%d is more than the %d questions", mark, len(qs))
	}
	return qs, mark
}

// audience reads `everyone` or {departments: [...]}; it returns the
// departments (none: everyone active).
func (p *parser) audience(n *yaml.Node, field string) []string {
	if n.Kind == yaml.ScalarNode && n.Value == "everyone" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n, field, "expected everyone or {departments: [...]}, found %s", describe(n))
		return nil
	}
	var deps []string
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"departments": func(v *yaml.Node, f string) { deps = values(p.list(v, f)) },
	}, "departments")
	return deps
}

// campaignObligation checks the keys only campaigns have, and their timing.
func (p *parser) campaignObligation(n *yaml.Node, field string, dueNode *yaml.Node, o Obligation) {
	if n.Kind != yaml.MappingNode || o.Process == "" {
		return
	}
	kind := campaignact.KindOf(o.Process)
	at := func(key string) *yaml.Node {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i]
			}
		}
		return nil
	}
	if kind == "" {
		for _, key := range []string{"audience", "training", "new_hire_within"} {
			if k := at(key); k != nil {
				p.fail(k, join(field, key), "only a campaign (%s, %s) takes %s", campaignact.ProcessAcknowledgement, campaignact.ProcessTraining, key)
			}
		}
		return
	}
	switch {
	case kind == campaignact.KindTraining && o.Training == "" && at("training") == nil:
		p.fail(n, join(field, "training"), "required: the training this campaign runs")
	case kind == campaignact.KindAcknowledgement && at("training") != nil:
		p.fail(at("training"), join(field, "training"), "an acknowledgement campaign asks for policies (scope), not a training")
	}
	if dueNode != nil && o.Due > 0 && o.RemindEvery > 0 && o.Due < o.RemindEvery {
		p.fail(dueNode, join(field, "due"), "%s is shorter than the first reminder (remind_every %s): nobody would be reminded before it is due",
			period.Format(o.Due), period.Format(o.RemindEvery))
	}
}
