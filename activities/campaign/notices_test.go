package campaign

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
	"go.temporal.io/sdk/testsuite"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/links"
	"github.com/complyflow/complyflow/internal/testenv"
)

// A person with both gets an email whose link is made for the portal
// channel and a Slack DM whose button opens the same page with a link made
// for Slack, each for them only; a retried round sends neither again.
func TestNotifyLinksPerChannel(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name, slack_user_id) VALUES ('ann', 'ann@example.com', 'Ann Engineer', 'U0ANN');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES ('aup', 'Acceptable Use Policy', 'ann', 'https://example.com/aup', '2026-01-05')`)
	var mu sync.Mutex
	var buttons []string
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			var blocks []struct {
				Elements []struct {
					URL string `json:"url"`
				} `json:"elements"`
			}
			json.Unmarshal([]byte(r.Form.Get("blocks")), &blocks)
			mu.Lock()
			for _, b := range blocks {
				for _, e := range b.Elements {
					buttons = append(buttons, e.URL)
				}
			}
			mu.Unlock()
			fmt.Fprintf(w, `{"ok":true,"channel":"D%s","ts":"1700000000.0001"}`, r.Form.Get("channel"))
		})
	})
	srv.Start()
	defer srv.Stop()
	sink := testenv.MailSink(t)
	signer, err := links.NewSigner([]links.Key{{Secret: []byte("notices-test-link-key-0123456789")}})
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{DB: db.App, Pool: notify.NewPool(&notify.Mailer{Addr: sink.Addr(), From: "complyflow@example.com"}, 1),
		Slack: notify.NewSlack("xoxb-test", srv.GetAPIURL()), Links: signer, BaseURL: "https://comply.example.com/", LinkTTL: time.Hour}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	def := Definition{ID: "campaign/acknowledgement/t", Kind: KindAcknowledgement, Due: 14 * 24 * time.Hour, Reason: "test", StartedBy: "test", At: time.Now()}
	if _, err := env.ExecuteActivity(a.OpenCampaign, def); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := env.ExecuteActivity(a.Notify, NoticeInput{CampaignID: def.ID, Purpose: PurposeAssigned, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := sink.Messages()
	mu.Lock()
	defer mu.Unlock()
	if len(msgs) != 1 || len(buttons) != 1 {
		t.Fatalf("%d emails and %d Slack buttons, want one of each after two rounds", len(msgs), len(buttons))
	}
	_, parts := testenv.MailParts(t, msgs[0].Raw)
	for channel, link := range map[string]string{ChannelPortal: linkIn(parts["text/plain"]), ChannelSlack: buttons[0]} {
		token, ok := strings.CutPrefix(link, "https://comply.example.com/a/")
		if !ok {
			t.Fatalf("%s link %q is not a signing page", channel, link)
		}
		claims, err := signer.Verify(token)
		if err != nil || claims.PersonID != "ann" || claims.Subject != AssignmentSubject(def.ID, channel) {
			t.Errorf("%s link claims %+v, %v; want Ann's, for %s", channel, claims, err, AssignmentSubject(def.ID, channel))
		}
	}
	if !strings.Contains(parts["text/plain"], "Acceptable Use Policy, version 2026.1") {
		t.Errorf("the email does not name the version:\n%s", parts["text/plain"])
	}
}

func linkIn(text string) string {
	for _, f := range strings.Fields(text) {
		if strings.HasPrefix(f, "https://") {
			return f
		}
	}
	return ""
}
