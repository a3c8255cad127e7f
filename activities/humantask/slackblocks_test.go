package humantask

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/slack-go/slack"
)

// Text a requester typed reaches the officer's Slack DM as typed: no link
// with a disguised label, no @channel.
func TestSlackTaskBodyIsEscaped(t *testing.T) {
	m := taskMessage{task: TaskRecord{ID: "task/x", Subject: "Review <!here>", Body: "See <https://evil.example/login|the policy> <!channel> & *this*",
		Actions: []string{"approve"}}}
	blocks := m.blocks()
	body := blocks[1].(*slack.SectionBlock).Text.Text
	if want := "See &lt;https://evil.example/login|the policy&gt; &lt;!channel&gt; &amp; *this*"; body != want {
		t.Fatalf("body block %q, want %q", body, want)
	}
	if head := blocks[0].(*slack.SectionBlock).Text.Text; strings.Contains(head, "<!here>") {
		t.Fatalf("subject not escaped: %q", head)
	}
}

func TestEscapeMrkdwnMaxCutsBetweenCharacters(t *testing.T) {
	for _, in := range []string{strings.Repeat("&", 1000), strings.Repeat("é", 2000), strings.Repeat("a<", 1500)} {
		out := notify.EscapeMrkdwnMax(in, slackSectionMax)
		cut := strings.TrimSuffix(out, "…")
		if len(cut) > slackSectionMax || !utf8.ValidString(out) || cut == out {
			t.Fatalf("%.10q…: %d bytes, valid %v, ellipsis %v", in, len(cut), utf8.ValidString(out), cut != out)
		}
		if strings.HasSuffix(cut, "&") || strings.HasSuffix(cut, "&am") || strings.HasSuffix(cut, "&l") {
			t.Fatalf("%.10q…: cut inside an escape: …%q", in, cut[len(cut)-8:])
		}
	}
	if out := notify.EscapeMrkdwnMax("short <b>", slackSectionMax); out != "short &lt;b&gt;" {
		t.Fatalf("short text: %q", out)
	}
}
