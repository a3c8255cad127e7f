package notify_test

import (
	"context"
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
