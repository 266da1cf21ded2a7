package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/beckon-app/beckon/models"
)

func TestBrowserStaffSuspendsASubtree(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	if _, err := app.store.Users.Create(ctx, models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true}); err != nil {
		t.Fatal(err)
	}
	// ann → bob → cid → dan: four levels; each but dan has a pending invitation.
	var chain []models.User
	for i, name := range []string{"ann", "bob", "cid", "dan"} {
		u := app.user(name+"@example.com", name, true)
		if i > 0 {
			if _, err := app.store.DB.Exec(`UPDATE users SET invited_by = ? WHERE id = ?`, chain[i-1].ID, u.ID); err != nil {
				t.Fatal(err)
			}
		}
		if name != "dan" {
			if _, _, err := app.store.Invitations.Create(ctx, u.ID, "friend-of-"+name+"@example.com", "Come along", 0); err != nil {
				t.Fatal(err)
			}
		}
		chain = append(chain, u)
	}
	ann := chain[0]
	browser := newBrowser(t)
	url := app.srv.URL

	// cid is signed in at another computer.
	cid := newIncognito(t, browser)
	signIn(t, cid, url, "cid")

	signIn(t, browser, url, "boss")
	stat := fmt.Sprintf("#user-stat-%d", ann.ID)
	do(t, browser, "find ann", chromedp.Navigate(url+"/staff/users?q=ann"), chromedp.WaitVisible(chromedp.CSS(stat)))
	do(t, browser, "open ann's page", chromedp.Click(chromedp.CSS(stat+` [data-testid="staff-user-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-user-heading"]`)))
	if got := text(t, browser, `[data-testid="subtree"] [data-testid="stat-members"]`); got != "3" {
		t.Errorf("ann's subtree shows %q members; want 3", got)
	}
	if got := text(t, browser, `[data-testid="subtree"] [data-testid="stat-levels"]`); got != "3" {
		t.Errorf("ann's subtree shows %q levels; want 3", got)
	}
	screenshot(t, browser, "staff-user-desktop")

	do(t, browser, "preview the suspension", chromedp.Click(chromedp.CSS(`[data-testid="subtree-suspend-preview"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtree-preview"]`)))
	if got := text(t, browser, `[data-testid="stat-members to suspend"]`); got != "4" {
		t.Errorf("preview: %q members; want 4", got)
	}
	if got := text(t, browser, `[data-testid="stat-invitations to revoke"]`); got != "3" {
		t.Errorf("preview: %q invitations; want 3", got)
	}
	screenshot(t, browser, "subtree-preview-desktop")
	do(t, browser, "confirm without a reason", chromedp.Click(chromedp.CSS(`[data-testid="subtree-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="reason-error"]`)))
	do(t, browser, "confirm with a reason", steps(
		fill("#reason", "Spam ring"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="subtree-confirm"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`))},
	)...)
	if got := text(t, browser, `[data-testid="flash"]`); got != "@ann and their subtree: Suspended 4 members and revoked 3 pending invitations." {
		t.Errorf("flash %q", got)
	}
	if got := text(t, browser, `[data-testid="suspended-reason"]`); !strings.Contains(got, "Spam ring") {
		t.Errorf("the page shows %q as the reason", got)
	}
	if got := text(t, browser, `[data-testid="subtree"] [data-testid="stat-suspended"]`); got != "3" {
		t.Errorf("suspended in the subtree: %q; want 3", got)
	}
	screenshot(t, browser, "staff-user-suspended-desktop")

	// cid's next request signs them out. It is a page they open rather than
	// a click on the page they are on: while an email of theirs is still on
	// its way, that page's delivery badge polls, and the poll may be the
	// request that signs them out and sends the page to /login first.
	do(t, cid, "cid opens a page", chromedp.Navigate(url+"/invitations"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	do(t, cid, "cid tries to sign in", steps(
		fill("#login", "cid"),
		fill("#password", testPassword),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-error"]`))},
	)...)
	if got := text(t, cid, `[data-testid="login-error"]`); got != "This account is suspended." {
		t.Errorf("cid's sign-in says %q", got)
	}

	// The same pages on a phone.
	do(t, browser, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(url+fmt.Sprintf("/staff/users/%d", chain[1].ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-user-heading"]`)))
	screenshot(t, browser, "staff-user-phone")
	do(t, browser, "phone preview", chromedp.Navigate(url+fmt.Sprintf("/staff/users/%d/subtree?action=revoke", ann.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subtree-preview"]`)))
	screenshot(t, browser, "subtree-preview-phone")
	do(t, browser, "phone audit", chromedp.Navigate(url+"/staff/audit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-log"]`)))
	screenshot(t, browser, "audit-phone")
}
