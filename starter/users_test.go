package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestUsersInviteEmailsASingleUseLinkAndRefusesBadInput(t *testing.T) {
	db := testenv.Postgres(t)
	db.Owner.MustExec(`INSERT INTO people (id, email, name) VALUES ('ada', 'ada@example.com', 'Ada Admin'), ('aud', 'aud@example.com', 'Aud Itor'),
		('nomail', '', 'No Mail')`)
	sink := testenv.MailSink(t)
	t.Setenv("SMTP_ADDR", sink.Addr())
	t.Setenv("LINK_SIGNING_KEY", "a-random-link-key-0123456789")
	t.Setenv("PORTAL_BASE_URL", "https://portal.example.com")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"users", "invite", "--person", "ada", "--role", "boss"}, `role "boss"`},
		{[]string{"users", "invite", "--person", "ghost", "--role", "employee"}, `"ghost" is not in the workforce`},
		{[]string{"users", "invite", "--person", "nomail", "--role", "employee"}, "no email address"},
		{[]string{"users", "invite", "--person", "aud", "--role", "auditor"}, "needs --valid-until"},
		{[]string{"users", "invite", "--person", "aud", "--role", "auditor", "--valid-until", "next week"}, "want YYYY-MM-DD"},
	} {
		if code, _, errOut := starterIn(t, db, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to say %q", c.args, code, errOut, c.want)
		}
	}
	var n int
	db.Owner.Get(&n, `SELECT count(*) FROM accounts`)
	if n != 0 || sink.Count() != 0 {
		t.Fatalf("refused invitations left %d accounts and %d emails", n, sink.Count())
	}

	code, out, errOut := starterIn(t, db, "users", "invite", "--person", "aud", "--role", "auditor", "--valid-until", "2099-06-30",
		"--audit-from", "2025-01-01", "--audit-to", "2025-12-31", "--as", "sam")
	if code != 0 || !strings.Contains(out, "https://portal.example.com"+accounts.LinkPath) {
		t.Fatalf("invite: exit %d, out %q, err %q", code, out, errOut)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "aud@example.com" || !strings.Contains(string(msgs[0].Raw), "portal.example.com") {
		t.Fatalf("invitation mail: %d messages %+v", len(msgs), msgs)
	}
	a, err := accounts.Lookup(context.Background(), db.App, "aud")
	if err != nil || a.Role != "auditor" || !a.ValidUntil.Valid || a.ValidUntil.Time.UTC() != time.Date(2099, 7, 1, 0, 0, 0, 0, time.UTC) ||
		a.AuditFrom.String != "2025-01-01" || a.AuditTo.String != "2025-12-31" {
		t.Fatalf("the auditor's account: %+v, %v", a, err)
	}
	if code, _, errOut := starterIn(t, db, "users", "invite", "--person", "aud", "--role", "auditor", "--valid-until", "2099-06-30"); code == 0 ||
		!strings.Contains(errOut, "already has an account") {
		t.Fatalf("a second invitation: exit %d, %q", code, errOut)
	}
	var audited int
	db.Owner.Get(&audited, `SELECT count(*) FROM audit_log WHERE subject = 'aud' AND action IN ('account.created', 'account.invite_sent')`)
	if audited != 2 {
		t.Errorf("audited %d invitation steps, want 2 (created, invite_sent)", audited)
	}
}

func TestUsersRoleChangeIsAuditedAndDemoPrintsOneSignInPerRole(t *testing.T) {
	db := testenv.Postgres(t)
	if code, _, errOut := starterIn(t, db, "import", "people", "../demo/people.csv"); code != 0 {
		t.Fatalf("import demo people: %s", errOut)
	}
	t.Setenv("PORTAL_BASE_URL", "http://127.0.0.1:8080")
	code, out, errOut := starterIn(t, db, "users", "demo")
	if code != 0 {
		t.Fatalf("users demo: exit %d, %s", code, errOut)
	}
	for _, d := range demoAccounts {
		if !strings.Contains(out, d.Role) || !strings.Contains(out, d.Password) || !strings.Contains(out, d.TOTPSecret) {
			t.Errorf("users demo output lacks the %s sign-in:\n%s", d.Role, out)
		}
	}
	ctx := context.Background()
	code2, _ := accounts.TOTPCode("DEMOOFFICERTOTPSECRETONLYFORDEMO", time.Now())
	if _, err := accounts.SignIn(ctx, db.App, accounts.Attempt{Email: "sam.okafor@example.com", Password: "Demo-Officer-1!", Code: code2}); err != nil {
		t.Fatalf("sign in as the demo officer: %v", err)
	}
	if code, again, _ := starterIn(t, db, "users", "demo"); code != 0 || again != out {
		t.Fatalf("users demo a second time: exit %d, printed\n%s\nwant the same sign-ins", code, again)
	}
	if code, out, errOut := starterIn(t, db, "users", "role", "--person", "p-liam-schmidt", "--role", "manager", "--as", "p-it-manager"); code != 0 ||
		!strings.Contains(out, "now manager") {
		t.Fatalf("users role: exit %d, %q %q", code, out, errOut)
	}
	var audited int
	db.Owner.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'account.role_changed' AND subject = 'p-liam-schmidt'
		AND detail->>'from' = 'employee' AND detail->>'to' = 'manager'`)
	if audited != 1 {
		t.Errorf("role change audited %d times, want 1", audited)
	}
}
