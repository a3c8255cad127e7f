package campaign

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Acknowledgement is one acknowledgements row: a person's acceptance of one
// policy version in a campaign, with the proof issue 11 item 9 asks for.
type Acknowledgement struct {
	CampaignID string    `db:"campaign_id"`
	PersonID   string    `db:"person_id"`
	Email      string    `db:"email"`
	PolicyID   string    `db:"policy_id"`
	Version    string    `db:"version"`
	TextSHA256 string    `db:"text_sha256"`
	Channel    string    `db:"channel"`
	At         time.Time `db:"at"`
	ClientAddr string    `db:"client_addr"`
	UserAgent  string    `db:"user_agent"`
	Seal       string    `db:"seal"`
}

// TrainingCompletion is one training_completions row: a passed training,
// its score, and the same proof as an acknowledgement.
type TrainingCompletion struct {
	CampaignID    string    `db:"campaign_id"`
	PersonID      string    `db:"person_id"`
	Email         string    `db:"email"`
	TrainingID    string    `db:"training_id"`
	ContentSHA256 string    `db:"content_sha256"`
	Score         int       `db:"score"`
	OutOf         int       `db:"out_of"`
	Channel       string    `db:"channel"`
	At            time.Time `db:"at"`
	ClientAddr    string    `db:"client_addr"`
	UserAgent     string    `db:"user_agent"`
	Seal          string    `db:"seal"`
}

// sealSep joins the sealed fields, as internal/links joins a token's: a unit
// separator, which no sealed field holds (IDs never do; the recorder replaces
// control characters in the client address and user agent), so no two
// records seal alike by moving text from one field to the next.
const sealSep = "\x1f"

// sealTimeLayout is how a seal writes the signature's time: RFC 3339 in UTC
// with all nine digits of nanoseconds. The recorder takes the time at
// microseconds, what Postgres keeps, so the last three digits are 000 and
// the stored row recomputes to the same seal.
const sealTimeLayout = "2006-01-02T15:04:05.000000000Z"

// SealAcknowledgement is the acknowledgement's seal (issue 11 item 9): the
// lower-case hex SHA-256 of the UTF-8 bytes of these fields joined by the
// byte 0x1f:
//
//	complyflow-acknowledgement-v1, campaign, person, email, policy, version,
//	text SHA-256, channel, time (2006-01-02T15:04:05.000000000Z, UTC),
//	client address, user agent
//
// An auditor recomputes it from a row in SQL with AcknowledgementSealSQL.
func SealAcknowledgement(a Acknowledgement) string {
	return seal("complyflow-acknowledgement-v1", a.CampaignID, a.PersonID, a.Email, a.PolicyID, a.Version,
		a.TextSHA256, a.Channel, a.At.UTC().Format(sealTimeLayout), a.ClientAddr, a.UserAgent)
}

// SealTrainingCompletion is the completion's seal, made as
// SealAcknowledgement's over:
//
//	complyflow-training-v1, campaign, person, email, training, content
//	SHA-256, score, out of (decimal), channel, time, client address, user agent
//
// In SQL over a training_completions row: TrainingSealSQL.
func SealTrainingCompletion(c TrainingCompletion) string {
	return seal("complyflow-training-v1", c.CampaignID, c.PersonID, c.Email, c.TrainingID, c.ContentSHA256,
		strconv.Itoa(c.Score), strconv.Itoa(c.OutOf), c.Channel, c.At.UTC().Format(sealTimeLayout), c.ClientAddr, c.UserAgent)
}

// AcknowledgementSealSQL and TrainingSealSQL are the seals as SQL
// expressions over a row's columns: the recorder seals with them as it
// inserts (and checks each against the Go function), and an auditor
// recomputes them with nothing but the database.
const (
	AcknowledgementSealSQL = `encode(sha256(convert_to(concat_ws(E'\x1f', 'complyflow-acknowledgement-v1',
		campaign_id, person_id, email, policy_id, version, text_sha256, channel,
		to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"000Z"'), client_addr, user_agent), 'UTF8')), 'hex')`
	TrainingSealSQL = `encode(sha256(convert_to(concat_ws(E'\x1f', 'complyflow-training-v1',
		campaign_id, person_id, email, training_id, content_sha256, score, out_of, channel,
		to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"000Z"'), client_addr, user_agent), 'UTF8')), 'hex')`
)

// SealVerifies reports whether the row's seal is the one its fields make:
// false when any sealed field was changed after it was recorded.
func (a Acknowledgement) SealVerifies() bool { return a.Seal == SealAcknowledgement(a) }

// SealVerifies reports whether the row's seal is the one its fields make.
func (c TrainingCompletion) SealVerifies() bool { return c.Seal == SealTrainingCompletion(c) }

func seal(fields ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(fields, sealSep)))
	return hex.EncodeToString(sum[:])
}
