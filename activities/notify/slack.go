package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// Slack posts complyflow's messages through the Slack Web API: direct
// messages to people, posts to channels, and updates of either. Errors are
// *DeliveryError: an unknown or disabled user or channel is Permanent; a 429
// carries Slack's Retry-After; anything else is retryable.
type Slack struct {
	Client *slack.Client
}

// NewSlack returns a poster for the bot token; apiURL (SLACK_API_URL) points
// it at another server, e.g. slack-go's slacktest, and may be empty.
func NewSlack(token, apiURL string) *Slack {
	opts := []slack.Option{}
	if apiURL != "" {
		opts = append(opts, slack.OptionAPIURL(strings.TrimRight(apiURL, "/")+"/"))
	}
	return &Slack{Client: slack.New(token, opts...)}
}

// MessageRef names a posted message so it can be updated later. Its String
// form is what the notifications table keeps as provider_ref.
type MessageRef struct {
	Channel, TS string
}

func (r MessageRef) String() string { return r.Channel + "/" + r.TS }

// ParseMessageRef reads a MessageRef back from its String form.
func ParseMessageRef(s string) (MessageRef, bool) {
	ch, ts, ok := strings.Cut(s, "/")
	return MessageRef{Channel: ch, TS: ts}, ok && ch != "" && ts != ""
}

// ResolveUser returns the person's Slack user ID: userID when the directory
// has one, else the user Slack knows by email.
func (s *Slack) ResolveUser(ctx context.Context, userID, email string) (string, error) {
	if userID != "" {
		return userID, nil
	}
	if email == "" {
		return "", &DeliveryError{Permanent: true, Err: errors.New("no Slack user ID and no email to look one up by")}
	}
	u, err := s.Client.GetUserByEmailContext(ctx, email)
	if err != nil {
		return "", classifySlack(fmt.Errorf("look up Slack user by email %s: %w", email, err))
	}
	return u.ID, nil
}

// DirectMessage posts text (the notification fallback) and blocks to a user.
func (s *Slack) DirectMessage(ctx context.Context, userID, text string, blocks ...slack.Block) (MessageRef, error) {
	return s.Post(ctx, userID, text, blocks...)
}

// Post posts to a channel (an ID or "#name") or, given a user ID, to that
// user's direct messages with the app.
func (s *Slack) Post(ctx context.Context, channel, text string, blocks ...slack.Block) (MessageRef, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	ch, ts, err := s.Client.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return MessageRef{}, classifySlack(fmt.Errorf("post to %s: %w", channel, err))
	}
	return MessageRef{Channel: ch, TS: ts}, nil
}

// Update replaces a posted message (chat.update).
func (s *Slack) Update(ctx context.Context, ref MessageRef, text string, blocks ...slack.Block) error {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	if _, _, _, err := s.Client.UpdateMessageContext(ctx, ref.Channel, ref.TS, opts...); err != nil {
		return classifySlack(fmt.Errorf("update message %s: %w", ref, err))
	}
	return nil
}

// permanentSlackErrors are refusals of the recipient, or of the message
// being updated, that another attempt would not change. Refusals of the bot
// itself (invalid_auth, not_authed, account_inactive, token_revoked) are
// retryable: they hold for everyone until the token is fixed, and recording
// them would mean nobody is ever sent the message.
var permanentSlackErrors = map[string]bool{
	"users_not_found": true, "user_not_found": true, "channel_not_found": true,
	"user_disabled": true, "cannot_dm_bot": true,
	"message_not_found": true, "cant_update_message": true,
}

func classifySlack(err error) error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &DeliveryError{RetryAfter: rl.RetryAfter, Err: err}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentSlackErrors[se.Err] {
		return &DeliveryError{Permanent: true, Err: err}
	}
	return &DeliveryError{Err: err}
}

// EscapeMrkdwn keeps Slack's formatting (*bold*, _italic_) but not its
// control sequences: a <link|label>, <!channel> or <@user> in text someone
// typed shows as typed instead of becoming a disguised link or a mention.
func EscapeMrkdwn(s string) string {
	return mrkdwnEscaper.Replace(s)
}

// EscapeMrkdwnMax escapes s and cuts it to at most max bytes (plus an
// ellipsis) between characters, never inside a character or an escape.
func EscapeMrkdwnMax(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		e := EscapeMrkdwn(string(r))
		if b.Len()+len(e) > max {
			b.WriteString("…")
			break
		}
		b.WriteString(e)
	}
	return b.String()
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
