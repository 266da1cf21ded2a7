package handlers_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// A member makes a link in place (htmx), sees its address, and closes it;
// the page fits a 390-pixel phone without sideways scrolling.
func TestBrowserLinksOnAPhone(t *testing.T) {
	app := newTestApp(t, withSecret())
	app.user("ann@example.com", "ann", true)
	browser := newBrowser(t)
	acceptDialogs(browser)
	url := app.srv.URL

	signIn(t, browser, url, "ann")
	do(t, browser, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(url+"/links"), chromedp.WaitVisible(chromedp.CSS("#link-form")))
	do(t, browser, "make a link", steps(
		fill("#link-uses", "3"),
		fill("#link-label", "Book club"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="link-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="link-url"]`))},
	)...)
	if got := text(t, browser, "#nav-invites-remaining"); got != "2" {
		t.Errorf("counter %q after a link of 3; want 2", got)
	}
	wide, err := chromedp.Run(browser, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if wide {
		t.Error("the links page scrolls sideways on a 390-pixel phone")
	}
	screenshot(t, browser, "links-phone")
	do(t, browser, "close it", chromedp.Click(chromedp.CSS(`[data-testid="link-close"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="link-row"][data-status="closed"]`)))
	if got := text(t, browser, "#nav-invites-remaining"); got != "5" {
		t.Errorf("counter %q after closing; want 5", got)
	}
}
