package handlers_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserInviteAndJoin(t *testing.T) {
	app := newTestApp(t, withAllocation(3))
	app.user("ann@example.com", "ann", true)
	browser := newBrowser(t)
	url := app.srv.URL

	do(t, browser, "sign in", steps(
		[]chromedp.Action[chromedp.Void]{chromedp.Navigate(url + "/login"), chromedp.WaitVisible(chromedp.CSS("#login-form"))},
		fill("#login", "ann"),
		fill("#password", testPassword),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("#invite-form"))},
	)...)
	if got := text(t, browser, "#invites-remaining"); got != "3" {
		t.Fatalf("remaining before = %q; want 3", got)
	}

	// app.js configured htmx before htmx read its configuration: no
	// injected styles, nothing evaluated, a 422 swapped like a 200.
	configured, err := chromedp.Run(browser, chromedp.Evaluate[bool](`htmx.config.includeIndicatorStyles === false &&
		htmx.config.allowEval === false && htmx.config.historyCacheSize === 0 &&
		htmx.config.responseHandling.some(function (r) { return r.code === '422' && r.swap && !r.error; }) &&
		!document.querySelector('head style')`))
	if err != nil || !configured {
		t.Errorf("htmx is not configured by app.js (%v, %v)", configured, err)
	}

	// A marker on window survives only if the page is not reloaded.
	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}
	do(t, browser, "invite", steps(
		fill("#invite-email", "Bob@Example.com"),
		fill("#invite-note", "Chess on Tuesdays?"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="invitation-row"]`))},
	)...)
	if got := text(t, browser, "#invites-remaining"); got != "2" {
		t.Errorf("panel counter after inviting = %q; want 2", got)
	}
	if got := text(t, browser, "#nav-invites-remaining"); got != "2" {
		t.Errorf("nav counter after inviting = %q; want 2", got)
	}
	if got := text(t, browser, `[data-testid="invitation-email"]`); got != "Bob@Example.com" {
		t.Errorf("new row shows %q", got)
	}
	if v, _ := chromedp.Run(browser, chromedp.Value(chromedp.CSS("#invite-email"))); v != "" {
		t.Errorf("form not cleared: %q", v)
	}
	if kept, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.__noReload === true`)); err != nil || !kept {
		t.Errorf("the page reloaded (marker %v, %v)", kept, err)
	}
	screenshot(t, browser, "invite-sent")

	// An error comes back in place too.
	do(t, browser, "invite again", steps(
		fill("#invite-email", "bob@example.com"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="email-error"]`))},
	)...)
	if got := text(t, browser, `[data-testid="email-error"]`); got != "You have already invited bob@example.com." {
		t.Errorf("duplicate message = %q", got)
	}
	screenshot(t, browser, "invite-duplicate")

	// Revoke, confirmed in the browser's dialog, gives the invitation back in place.
	acceptDialogs(browser)
	do(t, browser, "invite cid", steps(
		refill("#invite-email", "cid@example.com"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-status="pending"] + [data-status="pending"], [data-testid="sent-list"] li:nth-child(2)`))},
	)...)
	if got := text(t, browser, "#invites-remaining"); got != "1" {
		t.Errorf("counter after the second invitation = %q; want 1", got)
	}
	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}
	// The new row's forms are live once htmx has processed them (after the
	// settle); a click before that is a plain form post and a page load.
	waitJS(t, browser, "row processed", `document.querySelector('[data-testid="sent-list"] li:first-child [data-testid="revoke"]').form["htmx-internal-data"]`)
	do(t, browser, "revoke cid", chromedp.Click(chromedp.CSS(`[data-testid="sent-list"] li:first-child [data-testid="revoke"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-status="revoked"]`)))
	if got := text(t, browser, "#invites-remaining"); got != "2" {
		t.Errorf("counter after revoking = %q; want 2", got)
	}
	// The answer took the row's place (the actions' container names the
	// target for both forms): still two rows, the revoked one first, and
	// nothing swapped into a row or a form.
	shape, err := chromedp.Run(browser, chromedp.Evaluate[string](`[...document.querySelectorAll('#sent-items > li')].map(li => li.dataset.status).join(' ') +
		' | nested ' + document.querySelectorAll('#sent-items li li, #sent-items form li').length +
		' | reloaded ' + (window.__noReload !== true)`))
	if err != nil || shape != "revoked pending | nested 0 | reloaded false" {
		t.Errorf("sent list after revoking: %q (%v); want \"revoked pending | nested 0 | reloaded false\"", shape, err)
	}
	screenshot(t, browser, "invite-revoked")

	// Bob, at another computer, follows the link in his email.
	link := app.srv.URL + linkIn(t, app.lastMailTo("Bob@Example.com"), "/join/")
	bob := newIncognito(t, browser)
	do(t, bob, "open link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#join-form")))
	if got := text(t, bob, `[data-testid="join-heading"]`); got != "ann invited you to join Beckon" {
		t.Errorf("join heading = %q", got)
	}
	if got := text(t, bob, `[data-testid="join-note"]`); got != "Chess on Tuesdays?" {
		t.Errorf("join note = %q", got)
	}
	if v, _ := chromedp.Run(bob, chromedp.Value(chromedp.CSS("#email"))); v != "Bob@Example.com" {
		t.Errorf("email not filled in: %q", v)
	}
	screenshot(t, bob, "join-page")
	do(t, bob, "join", steps(
		fill("#username", "bob"),
		fill("#password", "bobs own password"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="join-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-user"]`))},
	)...)
	if got := text(t, bob, `[data-testid="nav-user"]`); got != "@bob" {
		t.Errorf("bob signed in as %q", got)
	}
	screenshot(t, bob, "joined")

	// Ann sees the invitation accepted, linked to Bob's profile.
	do(t, browser, "reload ann's list", chromedp.Navigate(url+"/invitations"), chromedp.WaitVisible(chromedp.CSS(`[data-status="accepted"]`)))
	if got := text(t, browser, `[data-status="accepted"] [data-testid="status-badge"]`); got != "accepted" {
		t.Errorf("status badge = %q", got)
	}
	screenshot(t, browser, "invite-accepted")
	do(t, browser, "open bob's profile", chromedp.Click(chromedp.CSS(`[data-testid="invitee-link"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="profile"]`)))
	if got := text(t, browser, `[data-testid="invited-by"]`); got != "Invited by @ann" {
		t.Errorf("profile says %q", got)
	}
	screenshot(t, browser, "profile")
}
