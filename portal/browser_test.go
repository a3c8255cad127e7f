package main_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/complyflow/complyflow/accounts"
	"github.com/complyflow/complyflow/internal/testenv"
)

// TestBrowserSignInWithTOTPDashboardAndAcknowledgeFromHome drives a real browser
// (Debian's chromium, which scripts/test.sh installs like Postgres) through
// the portal (issue 15 item 7): the officer signs in with a TOTP code, opens
// the dashboard from home and sees the campaign open, then opens the
// acknowledgement waiting on their home page and accepts it, and the home
// page then lists the signature.
func TestBrowserSignInWithTOTPDashboardAndAcknowledgeFromHome(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("no chromium on PATH: `make test` installs it (apt-get install chromium)")
	}
	sp := newSigninPortal(t)
	testenv.SeedAcknowledgementCampaign(t, sp.db, "ack-2026", "sam")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	code, err := accounts.TOTPCode(sp.secrets["sam"], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("browser: read %s: %v", sel, err)
		}
		return v
	}
	step("sign in with a TOTP code",
		chromedp.Navigate(sp.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "sam@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), testPassword),
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Submit(chromedp.CSS(`#code`)),
		chromedp.WaitVisible(chromedp.CSS(`#assignments`)))
	home := text(`body`)
	step("open the dashboard from home",
		chromedp.Click(chromedp.CSS(`a[href="/dashboard"]`)),
		chromedp.WaitVisible(chromedp.CSS(`div.campaign`)))
	dash := text(`body`)
	if !strings.Contains(dash, "Everything open") || !strings.Contains(dash, "ack-2026") || !strings.Contains(dash, "1 assigned · 0 completed") {
		t.Errorf("the dashboard does not show the open campaign:\n%s", dash)
	}
	step("back home", chromedp.Navigate(sp.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#assignments`)))
	step("accept the acknowledgement from home",
		chromedp.Click(chromedp.CSS(`#assignments a`)),
		chromedp.WaitVisible(chromedp.CSS(`button[name=accept]`)),
		chromedp.Click(chromedp.CSS(`button[name=accept]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`button[name=accept]`)),
		chromedp.Navigate(sp.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#signatures`)))
	homeAfter := text(`#signatures`)
	if !strings.Contains(home, "Hello, Sam Officer") || !strings.Contains(home, "Annual policy acknowledgement") {
		t.Errorf("home after signing in:\n%s", home)
	}
	if !strings.Contains(homeAfter, "Acknowledged conduct 2025.1") || !strings.Contains(homeAfter, "Acknowledged aup 2024.1") {
		t.Errorf("home's signatures after accepting:\n%s", homeAfter)
	}
	var n int
	if err := sp.db.Owner.Get(&n, `SELECT count(*) FROM acknowledgements WHERE person_id = 'sam' AND campaign_id = 'ack-2026' AND channel = 'portal'`); err != nil || n != 2 {
		t.Fatalf("acknowledgements recorded: %d (%v), want 2", n, err)
	}
}
