package campaign

import (
	"fmt"
	"slices"
)

// Question is one question of a training's quiz, as trainings.quiz holds it.
// Correct lists the indexes of the right choices; the page never shows it.
type Question struct {
	Question string   `json:"question"`
	Choices  []string `json:"choices"`
	Correct  []int    `json:"correct"`
}

// Multiple reports whether more than one choice is right, so the page offers
// check boxes rather than one radio button per choice.
func (q Question) Multiple() bool { return len(q.Correct) > 1 }

// Score counts the questions answered exactly right: the chosen choices are
// the correct ones, no more and no fewer (issue 11 item 8: "completion needs
// the pass mark"). answers[i] holds the indexes chosen for question i; a
// question without an answer is wrong. Answers the quiz does not have (a
// question or choice past its end: the quiz changed since the page was
// shown) are an error, and nothing is scored.
func Score(quiz []Question, answers [][]int) (int, error) {
	if len(answers) > len(quiz) {
		return 0, fmt.Errorf("the answers are to %d questions, but the quiz has %d; reload the page", len(answers), len(quiz))
	}
	score := 0
	for i, q := range quiz {
		var chosen []int
		if i < len(answers) {
			chosen = slices.Clone(answers[i])
		}
		for _, c := range chosen {
			if c < 0 || c >= len(q.Choices) {
				return 0, fmt.Errorf("question %d has no choice %d; reload the page", i+1, c+1)
			}
		}
		slices.Sort(chosen)
		correct := slices.Clone(q.Correct)
		slices.Sort(correct)
		if slices.Equal(slices.Compact(chosen), slices.Compact(correct)) {
			score++
		}
	}
	return score, nil
}
