package handlers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium for one test and returns a context
// for its first tab. It skips when Chromium is missing, unless CI is set:
// there a missing browser is a failure, so a broken install step can never
// turn CI green.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s not installed; browser tests skipped", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// newIncognito opens a tab in a fresh browser context of the same browser:
// its own cookies, like a second person at another computer.
func newIncognito(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new browser context: %v", err)
	}
	return ctx
}

// acceptDialogs accepts every JavaScript dialog (hx-confirm's confirm()) in ctx's tab.
func acceptDialogs(ctx context.Context) {
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
}

// screenshot saves a full-page PNG under testdata/screenshots/ for a person
// to look at, and returns its path.
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// do runs browser actions and fails the test with step on error.
func do(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(t.Name(), "/", "-"))
		t.Fatalf("%s: %v", step, err)
	}
}

// text returns the text of the element sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(t.Name(), "/", "-"))
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// fill types v into the empty field sel.
func fill(sel, v string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.CSS(sel), v)}
}

// refill types v into the input sel, replacing what is there.
func refill(sel, v string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), v)}
}

func steps(groups ...[]chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] {
	var all []chromedp.Action[chromedp.Void]
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

func TestBrowserFirstAdminSignInAndPasswordChange(t *testing.T) {
	app := newTestApp(t)
	ctx := newBrowser(t)
	url := app.srv.URL

	do(t, ctx, "open setup", chromedp.Navigate(url+"/setup"), chromedp.WaitVisible(chromedp.CSS("#setup-form")))
	do(t, ctx, "fill setup", steps(
		fill("#email", "admin@example.com"),
		fill("#username", "admin"),
		fill("#name", "Ada Admin"),
		fill("#password", "first password"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="setup-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`))},
	)...)
	if got := text(t, ctx, `[data-testid="flash"]`); got != "Your administrator account is ready." {
		t.Errorf("flash after setup = %q", got)
	}
	if got := text(t, ctx, `[data-testid="nav-user"]`); got != "@admin" {
		t.Errorf("nav user = %q", got)
	}
	screenshot(t, ctx, "setup-done")

	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="landing"]`)))
	do(t, ctx, "sign in", steps(
		[]chromedp.Action[chromedp.Void]{chromedp.Navigate(url + "/login"), chromedp.WaitVisible(chromedp.CSS("#login-form"))},
		fill("#login", "admin@example.com"),
		fill("#password", "first password"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-user"]`))},
	)...)

	// A refused change (a boosted form) leaves the address bar at /settings,
	// not at the form's POST-only /settings/password, so a reload works.
	do(t, ctx, "password change refused", steps(
		[]chromedp.Action[chromedp.Void]{chromedp.Navigate(url + "/settings"), chromedp.WaitVisible(chromedp.CSS("#password-form"))},
		fill("#current_password", "not my password"),
		fill("#new_password", "second password"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="password-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#current_password[aria-invalid="true"]`))},
	)...)
	if path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); err != nil || path != "/settings" {
		t.Errorf("after a refused password change the address bar says %q (%v); want /settings", path, err)
	}
	do(t, ctx, "reload after the refusal", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#password-form")))

	do(t, ctx, "change password", steps(
		[]chromedp.Action[chromedp.Void]{chromedp.Navigate(url + "/settings"), chromedp.WaitVisible(chromedp.CSS("#password-form"))},
		fill("#current_password", "first password"),
		fill("#new_password", "second password"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="password-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`))},
	)...)
	if got := text(t, ctx, `[data-testid="flash"]`); got != "Your password is changed, and you are signed out everywhere else." {
		t.Errorf("flash after password change = %q", got)
	}
	screenshot(t, ctx, "password-changed")

	do(t, ctx, "sign out again", chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="landing"]`)))
	do(t, ctx, "old password refused", steps(
		[]chromedp.Action[chromedp.Void]{chromedp.Navigate(url + "/login"), chromedp.WaitVisible(chromedp.CSS("#login-form"))},
		fill("#login", "admin"),
		fill("#password", "first password"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-error"]`))},
	)...)
	do(t, ctx, "new password accepted", steps(
		refill("#login", "admin"),
		fill("#password", "second password"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-user"]`))},
	)...)
	if got := text(t, ctx, "#invite-heading"); got != "Invite a friend" {
		t.Errorf("home after sign-in shows %q", got)
	}
	screenshot(t, ctx, "signed-in-home")
}
