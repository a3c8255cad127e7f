// Package campaign holds the records of acknowledgement and training
// campaigns (control "Personnel Acknowledge Security Policies", control
// "Security Awareness Training"): the campaign, one assignment per person,
// and each signature. The Campaign workflow's activities open, assign,
// notify, remind, escalate and close; the portal records signatures here
// directly, with no workflow in between.
package campaign

import "strings"

// Kinds of campaign, as campaigns.kind spells them.
const (
	KindAcknowledgement = "acknowledgement"
	KindTraining        = "training"
)

// The processes the program file's obligations name, one per kind.
const (
	ProcessAcknowledgement = "policy-acknowledgement"
	ProcessTraining        = "security-training"
)

// KindOf is the kind of campaign a process runs ("" for another process).
func KindOf(process string) string {
	switch process {
	case ProcessAcknowledgement:
		return KindAcknowledgement
	case ProcessTraining:
		return KindTraining
	}
	return ""
}

// Channels a signature arrives by, as acknowledgements.channel spells them:
// the link in an email opens the portal; the button in a Slack DM opens
// the same page with a link made for Slack.
const (
	ChannelPortal = "portal"
	ChannelSlack  = "slack"
)

// AssignmentSubject is the subject of a signed link to a person's
// assignment in a campaign, made for one channel.
func AssignmentSubject(campaignID, channel string) string {
	return "assignment/" + channel + "/" + campaignID
}

// ParseAssignmentSubject reads AssignmentSubject back.
func ParseAssignmentSubject(s string) (campaignID, channel string, ok bool) {
	rest, ok := strings.CutPrefix(s, "assignment/")
	if !ok {
		return "", "", false
	}
	channel, campaignID, ok = strings.Cut(rest, "/")
	if !ok || campaignID == "" || (channel != ChannelPortal && channel != ChannelSlack) {
		return "", "", false
	}
	return campaignID, channel, true
}
