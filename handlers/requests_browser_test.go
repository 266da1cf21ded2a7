package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A visitor asks, confirms through the email's link, and a staff member
// approves one request and declines another in place.
func TestBrowserRequestQueue(t *testing.T) {
	app := newTestApp(t)
	app.staffMember("boss@example.com", "boss")
	browser := newBrowser(t)
	url := app.srv.URL

	visitor := newIncognito(t, browser)
	do(t, visitor, "the invite-only page links to the form", chromedp.Navigate(url+"/signup"),
		chromedp.Click(chromedp.CSS(`[data-testid="ask-invitation"]`)), chromedp.WaitVisible(chromedp.CSS("#request-form")))
	do(t, visitor, "ask", steps(
		fill("#email", "kim@example.com"),
		fill("#reason", "I run the book club with Ann.\nShe said to ask."),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="request-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="request-sent"]`))},
	)...)
	screenshot(t, visitor, "request-sent-desktop")
	link := linkIn(t, app.lastMailTo("kim@example.com"), "/request/confirm/")
	do(t, visitor, "confirm", chromedp.Navigate(url+link), chromedp.Click(chromedp.CSS(`[data-testid="request-confirm-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="request-confirmed"]`)))
	app.askAndConfirm("lee@example.com", "")

	signIn(t, browser, url, "boss")
	do(t, browser, "the queue", chromedp.Navigate(url+"/staff/requests"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="requests"]`)))
	screenshot(t, browser, "staff-requests-desktop")
	do(t, browser, "approve kim", chromedp.Click(chromedp.CSS(`[data-testid="request-row"]:nth-child(1) [data-testid="request-approve"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="request-row"]:nth-child(1) [data-testid="request-done"]`)))
	if got := text(t, browser, `[data-testid="request-row"]:nth-child(1) [data-testid="request-done"]`); !strings.Contains(got, "kim@example.com") {
		t.Errorf("approve said %q", got)
	}
	do(t, browser, "decline lee", steps(
		fill(`[data-testid="request-row"]:nth-child(2) input[name="reason"]`, "Not this month."),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="request-row"]:nth-child(2) [data-testid="request-decline"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="request-row"]:nth-child(2) [data-testid="request-done"]`))},
	)...)
	if m := app.lastMailTo("lee@example.com"); !strings.Contains(m.Text, "Not this month.") {
		t.Errorf("decline email: %q", m.Text)
	}
	app.askAndConfirm("max@example.com", "Friend of Lee.")
	do(t, browser, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(url+"/staff/requests"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="requests"]`)))
	screenshot(t, browser, "staff-requests-phone")
	do(t, visitor, "phone form", chromedp.EmulateViewport(390, 844), chromedp.Navigate(url+"/request"), chromedp.WaitVisible(chromedp.CSS("#request-form")))
	screenshot(t, visitor, "request-form-phone")
}
