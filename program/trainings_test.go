package program

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const campaigns = `roles:
  security_officer: [p-so]
policies:
  - {id: infosec, title: Information Security Policy, owner: p-so, url: "https://example.com/infosec"}
trainings:
  - id: awareness
    title: Security Awareness
    url: https://example.com/awareness
    quiz:
      pass_mark: 1
      questions:
        - question: "What do you do when you leave your desk?"
          choices: [lock the screen, nothing]
          correct: [lock the screen]
controls:
  - {id: ack, title: Personnel Acknowledge Security Policies, policies: [infosec]}
obligations:
  - id: acknowledge
    process: policy-acknowledgement
    schedule: {month: january, day: 15}
    due: 14d
    remind_every: 3d
    audience: everyone
    new_hire_within: 14d
    scope: [infosec]
    controls: [ack]
  - id: training
    process: security-training
    schedule: {cron: "0 9 1 * *"}
    due: 14d
    training: awareness
    audience: {departments: [Engineering, Sales]}
`

func TestParseCampaigns(t *testing.T) {
	p, errs := parse(t, campaigns)
	if errs != nil {
		t.Fatal(errs)
	}
	tr := p.Trainings[0]
	if tr.ID != "awareness" || tr.PassMark != 1 || len(tr.Quiz) != 1 || !slices.Equal(tr.Quiz[0].Correct, []int{0}) || tr.ContentSHA256 == "" {
		t.Errorf("training %+v", tr)
	}
	ack, train := p.Obligations[0], p.Obligations[1]
	if ack.NewHireWithin != 14*24*time.Hour || ack.Departments != nil || !slices.Equal(ack.Scope, []string{"infosec"}) {
		t.Errorf("acknowledgement obligation %+v", ack)
	}
	run := train.Run()
	if run.Training != "awareness" || !reflect.DeepEqual(run.Departments, []string{"Engineering", "Sales"}) || run.Process != "security-training" {
		t.Errorf("the training schedule's run %+v", run)
	}
}

func TestParseRejectsCampaigns(t *testing.T) {
	for _, c := range []struct{ name, old, new, want string }{
		{"correct answer not a choice", "correct: [lock the screen]", "correct: [lock it]",
			`program.yaml:14: trainings[awareness].quiz.questions[0].correct[0]: "lock it" is not one of the question's choices`},
		{"pass mark over the questions", "pass_mark: 1", "pass_mark: 2",
			`program.yaml:10: trainings[awareness].quiz.pass_mark: 2 is more than the 1 questions`},
		{"training campaign without training", "    training: awareness\n", "",
			`program.yaml:27: obligations[training].training: required: the training this campaign runs`},
		{"unknown training", "training: awareness", "training: phishing",
			`program.yaml:31: obligations[training].training: unknown training "phishing"`},
		{"due shorter than the first reminder", "remind_every: 3d", "remind_every: 15d",
			`program.yaml:21: obligations[acknowledge].due: 14d is shorter than the first reminder (remind_every 15d): nobody would be reminded before it is due`},
		{"bad audience", "audience: everyone", "audience: all of them",
			`program.yaml:23: obligations[acknowledge].audience: expected everyone or {departments: [...]}, found "all of them"`},
		{"unknown scope policy", "scope: [infosec]", "scope: [infosec, hr]",
			`program.yaml:25: obligations[acknowledge].scope[1]: unknown policy "hr"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(campaigns, c.old) {
				t.Fatalf("test case does not apply: %q not in the program", c.old)
			}
			_, errs := parse(t, strings.Replace(campaigns, c.old, c.new, 1))
			if got := lines(errs); !slices.Contains(got, c.want) {
				t.Errorf("errors:\n%s\nwant among them:\n%s", strings.Join(got, "\n"), c.want)
			}
		})
	}
	// A key only campaigns take, on another process.
	_, errs := parse(t, strings.Replace(valid, "    due: 30d\n", "    due: 30d\n    new_hire_within: 14d\n", 1))
	if got := lines(errs); len(got) != 1 || !strings.Contains(got[0], "only a campaign (policy-acknowledgement, security-training) takes new_hire_within") {
		t.Errorf("new_hire_within on an annual review: %q", got)
	}
}
