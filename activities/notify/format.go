package notify

import (
	"strings"
	"time"
)

// When is how a task's times read to people, in its emails, Slack messages
// and portal pages.
func When(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006 15:04 MST") }

// Paragraphs splits a task's Markdown body on blank lines. Email and the
// portal show each as text, never as markup (Slack gets it escaped, see
// EscapeMrkdwn), so a body cannot inject links or markup.
func Paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
