package handlers_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A member makes an API token on a phone: the token shows whole in its
// field's width with a Copy button, which selects and copies it.
func TestBrowserNewTokenCopies(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	browser := newBrowser(t)
	url := app.srv.URL

	signIn(t, browser, url, "ann")
	do(t, browser, "make a token on a phone", steps(
		[]chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(390, 844), chromedp.Navigate(url + "/settings/tokens"),
			chromedp.WaitVisible(chromedp.CSS("#token-name"))},
		fill("#token-name", "CRM sync"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="token-create"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="fresh-token-copy"]`))},
	)...)
	wide, err := chromedp.Run(browser, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("the tokens page scrolls sideways on a 390-pixel phone (%v)", err)
	}
	screenshot(t, browser, "token-fresh-phone")
	do(t, browser, "copy", chromedp.Click(chromedp.CSS(`[data-testid="fresh-token-copy"]`)))
	// The clipboard answers asynchronously.
	got := text(t, browser, `[data-testid="fresh-token-copy"]`)
	for i := 0; i < 40 && got == "Copy"; i++ {
		time.Sleep(50 * time.Millisecond)
		got = text(t, browser, `[data-testid="fresh-token-copy"]`)
	}
	if got != "Copied" && got != "Press Ctrl+C" {
		t.Errorf("the Copy button says %q after a click; want Copied (or Press Ctrl+C where the browser refuses)", got)
	}
	selected, err := chromedp.Run(browser, chromedp.Evaluate[bool](`(function () {
		var f = document.getElementById('fresh-token-value');
		return document.activeElement === f && f.selectionStart === 0 && f.selectionEnd === f.value.length && f.value.length === 43;
	})()`))
	if err != nil || !selected {
		t.Errorf("after Copy the whole token is not selected in its field (%v)", err)
	}
}
