package notify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/complyflow/complyflow/activities/notify"
	"github.com/complyflow/complyflow/internal/testenv"
)

func TestRecordNotificationKeepsTheFirstRow(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	first := notify.Notification{IdempotencyKey: "task/1/assigned/email/ann", Channel: notify.ChannelEmail,
		Address: "ann@example.com", Purpose: "assigned", TaskID: "task/1", Status: notify.StatusSent, ProviderRef: "<m1@x>"}
	got, err := notify.RecordNotification(ctx, db.App, first)
	if err != nil || got != first {
		t.Fatalf("first record: %+v, %v", got, err)
	}
	retry := first
	retry.Status, retry.Error, retry.ProviderRef = notify.StatusFailed, "550 no such user", ""
	got, err = notify.RecordNotification(ctx, db.App, retry)
	if err != nil || got != first {
		t.Fatalf("second record under the same key: %+v, %v; want the first row back", got, err)
	}
	var n int
	db.App.Get(&n, `SELECT count(*) FROM notifications`)
	if n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// A send is in the audit log, once, under its task's control.
func TestRecordNotificationIsAudited(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	db.Owner.MustExec(`INSERT INTO people (id, name) VALUES ('ann', 'Ann');
		INSERT INTO tasks (id, assignee_id, subject, actions, control_ids, due_at) VALUES ('task/1', 'ann', 'x', '{done}', '{CC1.4}', now())`)
	n := notify.Notification{IdempotencyKey: "task/1/assigned/email/ann", Channel: notify.ChannelEmail, RecipientID: "ann",
		Address: "ann@example.com", Purpose: "assigned", TaskID: "task/1", Status: notify.StatusSent, ProviderRef: "<m1@x>"}
	for i := 0; i < 2; i++ {
		if _, err := notify.RecordNotification(ctx, db.App, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := notify.RecordNotification(ctx, db.App, notify.Notification{IdempotencyKey: "announce/p/2026.1/email/ann",
		Channel: notify.ChannelEmail, Purpose: "policy-announcement", Status: notify.StatusFailed, Error: "550"}); err != nil {
		t.Fatal(err)
	}
	var rows []string
	db.App.Select(&rows, `SELECT actor || ' ' || action || ' ' || subject || ' ' || control_id || ' ' || idempotency_key || ' ' || (detail->>'address')
		FROM audit_log ORDER BY id`)
	want := []string{"complyflow notification.sent task/1 CC1.4 notification/task/1/assigned/email/ann#CC1.4 ann@example.com",
		"complyflow notification.failed announce/p/2026.1/email/ann  notification/announce/p/2026.1/email/ann "}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit rows\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}
