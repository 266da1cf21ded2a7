package handlers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/beckon-app/beckon/models"
)

// signIn signs a browser tab in through the login form.
func signIn(t *testing.T, ctx context.Context, baseURL, login string) {
	t.Helper()
	do(t, ctx, "sign in as "+login, steps(
		[]chromedp.Action[chromedp.Void]{chromedp.Navigate(baseURL + "/login"), chromedp.WaitVisible(chromedp.CSS("#login-form"))},
		fill("#login", login),
		fill("#password", testPassword),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-user"]`))},
	)...)
}

func TestBrowserStaffTopsOffAndAdds(t *testing.T) {
	app := newTestApp(t, withAllocation(0))
	ctx := context.Background()
	if _, err := app.store.Users.Create(ctx, models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true}); err != nil {
		t.Fatal(err)
	}
	member := app.user("ann@example.com", "ann", true)
	app.user("bob@example.com", "bob", true)
	browser := newBrowser(t)
	acceptDialogs(browser)
	url := app.srv.URL

	signIn(t, browser, url, "boss")
	do(t, browser, "open the dashboard", chromedp.Click(chromedp.CSS(`[data-testid="nav-staff"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="activity-chart"]`)))
	do(t, browser, "top off everyone to 3", steps(
		fill("#bulk-topoff-amount", "3"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="bulk-topoff-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#bulk-topoff [data-testid="bulk-result"]`))},
	)...)
	if got := text(t, browser, `#bulk-topoff [data-testid="bulk-result"]`); got != "Topped off 3 users to 3 invitations left." {
		t.Errorf("top off said %q", got)
	}
	if got := text(t, browser, "#nav-invites-remaining"); got != "3" {
		t.Errorf("the staff member's own counter shows %q; want 3", got)
	}
	screenshot(t, browser, "staff-dashboard")

	stat := fmt.Sprintf("#user-stat-%d", member.ID)
	do(t, browser, "find ann", chromedp.Navigate(url+"/staff/users?q=ann"), chromedp.WaitVisible(chromedp.CSS(stat)))
	if got := text(t, browser, stat+` [data-testid="stat-remaining"]`); got != "3" {
		t.Fatalf("ann's remaining before = %q", got)
	}
	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}
	do(t, browser, "add 1.5 to ann", steps(
		fill(stat+` [data-testid="addto-amount"]`, "1.5"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(stat + ` [data-testid="addto-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(stat + ` [data-testid="amount-error"]`))},
	)...)
	if got := text(t, browser, stat+` [data-testid="amount-error"]`); got != "Enter a whole number from 1 to 1,000,000." {
		t.Errorf("a refused amount says %q", got)
	}
	if got := text(t, browser, stat+` [data-testid="stat-remaining"]`); got != "3" {
		t.Errorf("ann's remaining after a refused amount = %q; want 3", got)
	}
	screenshot(t, browser, "staff-users-refused")
	do(t, browser, "add 4 to ann", steps(
		refill(stat+` [data-testid="addto-amount"]`, "4"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(stat + ` [data-testid="addto-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(stat + ` [data-testid="user-stat-message"]`))},
	)...)
	if got := text(t, browser, stat+` [data-testid="stat-remaining"]`); got != "7" {
		t.Errorf("ann's remaining after adding 4 = %q; want 7", got)
	}
	if kept, _ := chromedp.Run(browser, chromedp.Evaluate[bool](`window.__noReload === true`)); !kept {
		t.Error("the page reloaded")
	}
	screenshot(t, browser, "staff-users")

	ann := newIncognito(t, browser)
	signIn(t, ann, url, "ann")
	if got := text(t, ann, "#invites-remaining"); got != "7" {
		t.Errorf("ann sees %q left; want 7", got)
	}
	if got := text(t, ann, "#nav-invites-remaining"); got != "7" {
		t.Errorf("ann's nav shows %q; want 7", got)
	}
}
