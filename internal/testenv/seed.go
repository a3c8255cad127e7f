package testenv

import "testing"

// seedPolicyProgram is a small program as `starter program apply` leaves it:
// people, the roles, one policy (registered in 2022, so at version 2022.1) and
// a control evidenced by the policy processes.
// SeedPolicyProgram is a small program as `starter program apply` leaves it:
// the officers, CEO and designee, COO, two committee members, one leaver, the
// access policy (registered in 2022) and one control evidenced by the policy
// processes.
func SeedPolicyProgram(t testing.TB, db *DB) {
	t.Helper()
	db.Owner.MustExec(`
		INSERT INTO people (id, email, name) VALUES
			('sam', 'sam@example.com', 'Sam Officer'), ('pat', 'pat@example.com', 'Pat Privacy'),
			('cleo', 'cleo@example.com', 'Cleo CEO'), ('dee', 'dee@example.com', 'Dee Designee'),
			('coby', 'coby@example.com', 'Coby COO'), ('eve', 'eve@example.com', 'Eve Employee');
		INSERT INTO people (id, email, name, end_date) VALUES ('lee', 'lee@example.com', 'Lee Left', '2020-01-01');
		INSERT INTO roles (role, person_id) VALUES ('security_officer', 'sam'), ('privacy_officer', 'pat'),
			('ceo', 'cleo'), ('ceo_designee', 'dee'), ('coo', 'coby'), ('review_committee', 'pat'), ('review_committee', 'eve');
		INSERT INTO policies (id, title, owner_id, source, created_at) VALUES ('access', 'Access Control Policy', 'sam', 'policies/access.md', '2022-06-01');
		INSERT INTO controls (id, title, processes) VALUES ('policy-mgmt', 'Personnel Accountability',
			'{policy-change-request,policy-exception,annual-policy-review}');
	`)
}
