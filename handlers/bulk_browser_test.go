package handlers_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A staff member pastes a list; the progress bar moves in place as the
// runner works (no reload), then the report appears.
func TestBrowserBulkInviteProgress(t *testing.T) {
	app := newTestApp(t, withAllocation(-1), withRates(0, 3))
	app.staffMember("boss@example.com", "boss")
	app.user("member@example.com", "member", true)
	var rows []string
	for i := range 28 {
		rows = append(rows, fmt.Sprintf("friend%02d@example.com", i))
	}
	rows = append(rows, "member@example.com", "not an address,Hello")
	browser := newBrowser(t)
	url := app.srv.URL
	signIn(t, browser, url, "boss")

	do(t, browser, "open the form", chromedp.Navigate(url+"/staff/invite"), chromedp.WaitVisible(chromedp.CSS("#bulk-invite-form")))
	screenshot(t, browser, "bulk-form-desktop")
	do(t, browser, "paste and send", steps(
		fill("#emails", strings.Join(rows, "\n")),
		fill("#note", "Come and see"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="bulk-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("#bulk-bar"))},
	)...)
	loc, err := chromedp.Run(browser, chromedp.Location())
	if err != nil || !regexp.MustCompile(`/staff/invite/\d+$`).MatchString(loc) {
		t.Fatalf("after sending, at %q (%v); want /staff/invite/{id}", loc, err)
	}
	if got := text(t, browser, "#bulk-status"); got != "0 of 30 rows done (0%)." {
		t.Errorf("status before the runner: %q", got)
	}
	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	for _, done := range []int{10, 20} {
		if _, err := app.store.Bulk.WorkRows(ctx, 10); err != nil {
			t.Fatal(err)
		}
		do(t, browser, fmt.Sprintf("the bar at %d", done), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#bulk-bar[value="%d"]`, done))))
		if got, want := text(t, browser, "#bulk-status"), fmt.Sprintf("%d of 30 rows done (%d%%).", done, done*100/30); got != want {
			t.Errorf("status at %d: %q; want %q", done, got, want)
		}
		if done == 10 {
			screenshot(t, browser, "bulk-progress-desktop")
		}
	}
	app.runBulk()
	do(t, browser, "the report", chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-rows"]`)))
	if got := text(t, browser, "#bulk-status"); !strings.HasPrefix(got, "Done: 30 of 30 rows.") {
		t.Errorf("status when done: %q", got)
	}
	if kept, _ := chromedp.Run(browser, chromedp.Evaluate[bool](`window.__noReload === true`)); !kept {
		t.Error("the page reloaded instead of updating in place")
	}
	n, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="bulk-row"]').length`))
	if err != nil || n != 30 {
		t.Errorf("report lines: %d (%v); want 30", n, err)
	}
	if got := text(t, browser, `[data-n="29"] [data-testid="bulk-row-message"]`); got != "member@example.com is already a member." {
		t.Errorf("row 29 says %q", got)
	}
	if got := text(t, browser, `[data-n="30"] [data-testid="bulk-row-outcome"]`); got != "invalid" {
		t.Errorf("row 30 outcome %q", got)
	}
	// Polling stopped: the finished bar asks for nothing more.
	if polls, _ := chromedp.Run(browser, chromedp.Evaluate[bool](`document.getElementById('bulk-progress').hasAttribute('hx-trigger')`)); polls {
		t.Error("the finished bar still polls")
	}
	screenshot(t, browser, "bulk-report-desktop")
	do(t, browser, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-rows"]`)))
	screenshot(t, browser, "bulk-report-phone")
	do(t, browser, "phone form", chromedp.Navigate(url+"/staff/invite"), chromedp.WaitVisible(chromedp.CSS("#bulk-invite-form")))
	screenshot(t, browser, "bulk-form-phone")
}
