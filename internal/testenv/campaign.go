package testenv

import (
	"testing"

	"github.com/lib/pq"
)

// ConductText is the text of the code of conduct SeedCampaignProgram registers.
const ConductText = "Be kind to each other.\n\nReport a security incident to security@example.com at once."

// AwarenessQuiz is the quiz of the training SeedCampaignProgram records:
// three questions, two needed to pass; the right answers are 1, 0 and 2.
const AwarenessQuiz = `[
	{"question": "Someone you do not know asks for your password by phone. You", "choices": ["tell them", "refuse and report it"], "correct": [1]},
	{"question": "Which of these is a strong password?", "choices": ["correct horse battery staple", "password1"], "correct": [0]},
	{"question": "You find a USB stick in the car park. You", "choices": ["plug it in", "keep it", "hand it to security"], "correct": [2]}
]`

// SeedCampaignProgram is SeedPolicyProgram with what acknowledgement and
// training campaigns sign: the code of conduct (its text registered, so at
// 2025.1 with that text's SHA-256), an acceptable-use policy kept at a URL
// (2024.1), the awareness training with AwarenessQuiz (pass mark 2), and the
// controls "pa" (acknowledge policies) and "sat" (awareness training).
func SeedCampaignProgram(t testing.TB, db *DB) {
	t.Helper()
	SeedPolicyProgram(t, db)
	db.Owner.MustExec(`
		INSERT INTO policies (id, title, owner_id, source, created_at, registered_text, content_sha256) VALUES
			('conduct', 'Code of Conduct', 'sam', 'policies/conduct.md', '2025-01-10', $1, encode(sha256(convert_to($1, 'UTF8')), 'hex')),
			('aup', 'Acceptable Use Policy', 'sam', 'https://intranet.example.com/aup.pdf', '2024-03-01', '', encode(sha256('aup.pdf'), 'hex'))`,
		ConductText)
	db.Owner.MustExec(`
		INSERT INTO trainings (id, title, source, content, content_sha256, quiz, pass_mark) VALUES
			('awareness', 'Security awareness 2025', 'trainings/awareness.md', 'Phishing: never give your password to anyone.',
			 encode(sha256(convert_to('Phishing: never give your password to anyone.', 'UTF8')), 'hex'), $1, 2)`, AwarenessQuiz)
	db.Owner.MustExec(`INSERT INTO controls (id, title, processes) VALUES
		('pa', 'Personnel Acknowledge Security Policies', '{policy-acknowledgement}'),
		('sat', 'Security Awareness Training', '{security-training}')`)
}

// SeedAcknowledgementCampaign opens campaign id for the conduct and
// acceptable-use policies at their current versions (controls pa and sat),
// with a pending assignment for each person.
func SeedAcknowledgementCampaign(t testing.TB, db *DB, id string, people ...string) {
	t.Helper()
	db.Owner.MustExec(`INSERT INTO campaigns (id, kind, title, reason, started_by, control_ids, due_at)
		VALUES ($1, 'acknowledgement', 'Annual policy acknowledgement', 'test', 'sam', '{pa,sat}', now() + interval '14 days')`, id)
	db.Owner.MustExec(`INSERT INTO campaign_policies (campaign_id, policy_id, version, text_sha256)
		SELECT $1, policy_id, version, content_sha256 FROM policy_versions WHERE policy_id IN ('conduct', 'aup') AND superseded_at IS NULL`, id)
	seedAssignments(t, db, id, people)
}

// SeedTrainingCampaign opens campaign id for the awareness training (control
// sat), with a pending assignment for each person.
func SeedTrainingCampaign(t testing.TB, db *DB, id string, people ...string) {
	t.Helper()
	db.Owner.MustExec(`INSERT INTO campaigns (id, kind, title, training_id, reason, started_by, control_ids, due_at)
		VALUES ($1, 'training', 'Security awareness training', 'awareness', 'test', 'sam', '{sat}', now() + interval '14 days')`, id)
	seedAssignments(t, db, id, people)
}

func seedAssignments(t testing.TB, db *DB, id string, people []string) {
	t.Helper()
	db.Owner.MustExec(`INSERT INTO assignments (campaign_id, person_id, due_at)
		SELECT $1, p, now() + interval '14 days' FROM unnest($2::text[]) AS p`, id, pq.Array(people))
}
