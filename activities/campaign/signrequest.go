package campaign

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SignRequest is one signature as the portal received it: a person, through
// a link made for them and a channel, accepting their assignment in a
// campaign.
type SignRequest struct {
	CampaignID string
	PersonID   string
	Channel    string // ChannelPortal or ChannelSlack: the link's
	ClientAddr string
	UserAgent  string
	// A training's only: the SHA-256 of the content the page showed (a
	// training changed since is refused, so the record names what was
	// read), and answers[i], the choices picked for question i.
	ContentSHA256 string
	Answers       [][]int
}

// Outcome is what became of a signature.
type Outcome string

const (
	// Recorded: the signature is recorded now, sealed and audited.
	Recorded Outcome = "recorded"
	// AlreadyRecorded: the person had signed before; nothing new is
	// recorded, and At is the first signature's time.
	AlreadyRecorded Outcome = "already-recorded"
	// BelowPassMark: the quiz's score is under the pass mark; nothing is
	// recorded, and the person may try again.
	BelowPassMark Outcome = "below-pass-mark"
	// Refused: nothing is recorded, for the Reason given.
	Refused Outcome = "refused"
)

// Result is what Sign tells the page.
type Result struct {
	Outcome Outcome
	Reason  string    // Refused: why, written for the person
	At      time.Time // Recorded, AlreadyRecorded: when the signature was recorded
	// The campaign's kind and title, and an acknowledgement's policies.
	Kind, Title string
	Policies    []CampaignPolicy
	// A training's: the score (of OutOf questions) and the pass mark.
	Score, OutOf, PassMark int
}

// CampaignPolicy is one campaign_policies row: a policy version the campaign
// asks to be accepted.
type CampaignPolicy struct {
	PolicyID   string `json:"policy_id" db:"policy_id"`
	Version    string `json:"version" db:"version"`
	TextSHA256 string `json:"text_sha256" db:"text_sha256"`
}

// maxClientText bounds the client address and user agent kept in a record,
// in characters: the client chooses them.
const maxClientText = 512

// clientText is s as a record keeps it: valid UTF-8, control characters
// (the seal's separator among them) shown as U+FFFD, at most maxClientText
// characters.
func clientText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > maxClientText {
		s = string([]rune(s)[:maxClientText])
	}
	return s
}

// badID reports whether an ID cannot be recorded: empty, or holding a
// control character (the seal's separator among them).
func badID(s string) bool {
	return s == "" || strings.IndexFunc(s, unicode.IsControl) >= 0 || !utf8.ValidString(s)
}
