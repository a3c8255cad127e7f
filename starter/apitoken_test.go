package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/apitoken"
	"github.com/complyflow/complyflow/internal/testenv"
)

// `api-token create` prints a token once, which then authenticates; only
// its hash is stored; `api-token revoke` ends it; bad input is refused.
func TestAPITokenCreateAndRevoke(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('aud', 'aud@example.com', 'Aud Itor')`)
	until := time.Date(2099, 7, 1, 0, 0, 0, 0, time.UTC)
	if err := accounts.Create(context.Background(), db.App, accounts.New{PersonID: "aud", Role: "auditor", ValidUntil: &until, By: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"api-token", "create", "--person", "aud"}, "--expires are required"},
		{[]string{"api-token", "create", "--person", "aud", "--expires", "soon"}, "want YYYY-MM-DD"},
		{[]string{"api-token", "create", "--person", "aud", "--expires", "2100-01-01"}, "never outlives its account"},
		{[]string{"api-token", "revoke", "--id", "tok-nothing"}, "no such token"},
	} {
		if code, _, errOut := starterIn(t, db, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errOut, c.want)
		}
	}
	code, out, errOut := starterIn(t, db, "api-token", "create", "--person", "aud", "--expires", "2099-06-30", "--as", "ada")
	if code != 0 {
		t.Fatalf("create: exit %d %s", code, errOut)
	}
	m := regexp.MustCompile(`API token (tok-[0-9a-f]+) for aud.*\n(cfat_\S+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed %q", out)
	}
	id, token := m[1], m[2]
	var stored int
	db.Owner.Get(&stored, `SELECT count(*) FROM api_tokens WHERE hash = encode(sha256(convert_to($1, 'UTF8')), 'hex') AND expires_at = '2099-07-01Z'`, token)
	if stored != 1 {
		t.Fatal("the token's SHA-256 is not stored with its expiry")
	}
	if h, err := apitoken.Check(context.Background(), db.App, token); err != nil || h.PersonID != "aud" {
		t.Fatalf("the new token: %+v %v", h, err)
	}
	if code, _, errOut := starterIn(t, db, "api-token", "revoke", "--id", id, "--as", "ada"); code != 0 {
		t.Fatalf("revoke: exit %d %s", code, errOut)
	}
	if _, err := apitoken.Check(context.Background(), db.App, token); err != apitoken.ErrRefused {
		t.Fatalf("a revoked token: %v", err)
	}
	var audited int
	db.Owner.Get(&audited, `SELECT count(*) FROM audit_log WHERE action IN ('api_token.created', 'api_token.revoked') AND subject = 'aud'`)
	if audited != 2 {
		t.Errorf("%d token actions audited, want 2", audited)
	}
}
