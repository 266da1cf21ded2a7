package handlers_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/beckon-app/beckon/models"
)

// The accessibility and phone-layout audit. auditPage checks one page, in
// the tab's current signed-in state; auditedPages lists the pages, by who
// looks at them. A new page joins the audit with one line in the table.

// auditedPages is every page to audit, by the role that opens it: "" signed
// out, "member" (ann, with invitations sent), "staff" (boss).
var auditedPages = []struct{ role, path string }{
	{"", "/"},
	{"", "/login"},
	{"", "/signup"},
	{"", "/password/forgot"},
	{"", "/join/{token}"}, // an invitation to a new friend, filled in by the test
	{"", "/no-such-page"},
	{"", "/request"},
	{"member", "/"},
	{"member", "/invitations"},
	{"member", "/invitations?status=revoked"},
	{"member", "/links"},
	{"member", "/tree"},
	{"member", "/u/ann"},
	{"member", "/settings"},
	{"member", "/settings/tokens"},
	{"member", "/invitations/{inv}/revoke"}, // the question without JavaScript
	{"member", "/staff"},                    // refused: the error page
	{"staff", "/staff"},
	{"staff", "/staff/confirm?kind=addto&amount=5"},
	{"staff", "/staff/users"},
	{"staff", "/staff/users/{ann}"},
	{"staff", "/staff/invitations"},
	{"staff", "/staff/invitations/{inv}/revoke"},
	{"staff", "/staff/audit"},
	{"staff", "/staff/settings"},
	{"staff", "/staff/invitations/expire-all"},
	{"staff", "/staff/requests"},
	{"staff", "/staff/invite"},
	{"staff", "/staff/webhooks"},
}

// axeTags are the rules axe runs: WCAG 2.2 level A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// axeSource is axe-core's script, from node_modules (package.json pins it).
func axeSource(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but axe-core is missing (npm ci): %v", err)
		}
		t.Skipf("axe-core not installed (npm install): %v", err)
	}
	return string(src)
}

// allowAxe lets the test put axe-core into the pages of ctx's tab: the
// site's Content-Security-Policy allows no script but its own.
func allowAxe(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("bypass CSP: %v", err)
	}
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// runAxe runs axe-core on the page in ctx's tab and returns its violations.
func runAxe(t *testing.T, ctx context.Context) []axeViolation {
	t.Helper()
	src := axeSource(t)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`if (!window.axe) { `+src+` }; true`)); err != nil {
		t.Fatalf("inject axe: %v", err)
	}
	tags, _ := json.Marshal(axeTags)
	js := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}}).then(r => JSON.stringify(r.violations.map(v => ({
		id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))))`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe: %v", err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe result: %v", err)
	}
	return vs
}

// checkAxe fails the test on any serious or critical violation on the page
// in ctx's tab; what names the page and its state.
func checkAxe(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	for _, v := range runAxe(t, ctx) {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: axe %s (%s): %s at %v", what, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
}

// phoneProblems is the page's horizontal overflow and its targets under 24
// by 24 CSS px, measured in the browser. Following WCAG 2.5.8's inline
// exception, a link inside running text (a paragraph, list item, cell or
// label with more text than the link) is not a target it measures; a radio
// or checkbox inside its label counts as the label.
const phoneProblems = `(() => {
	const out = {scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, small: []};
	const running = el => {
		if (getComputedStyle(el).display !== 'inline') return false;
		const block = el.closest('p, li, td, dd, dt, label, small, span.text-xs');
		return block && block.textContent.trim().length > el.textContent.trim().length;
	};
	for (let el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
		if (el.closest('.sr-only') || el.matches('.skip-link')) continue;
		if (el.matches('[type=radio], [type=checkbox]') && el.closest('label')) el = el.closest('label');
		const r = el.getBoundingClientRect();
		if (r.width === 0 && r.height === 0) continue;
		if (el.tagName === 'A' && running(el)) continue;
		if (r.width < 24 || r.height < 24) {
			out.small.push(el.tagName.toLowerCase() + ' "' + (el.getAttribute('aria-label') || el.textContent.trim() || el.name || '').slice(0, 40) + '" ' + Math.round(r.width) + 'x' + Math.round(r.height));
		}
	}
	return JSON.stringify(out);
})()`

// auditPage opens url in ctx's tab and checks it at 1280 and at 390 px
// wide: axe-core's WCAG 2.2 AA rules (no serious or critical violation),
// then on the phone no horizontal scrolling and no tap target under 24 by
// 24. It saves a screenshot at each width (testdata/screenshots/). The tab
// must have had allowAxe.
func auditPage(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	name := shotName(t)
	do(t, ctx, "open "+url, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
	checkAxe(t, ctx, url)
	screenshot(t, ctx, name+"--1280")
	do(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	checkPhone(t, ctx, url)
	screenshot(t, ctx, name+"--390")
	do(t, ctx, "desktop width", chromedp.EmulateViewport(1280, 900))
}

// checkPhone checks the page in ctx's tab, already at phone width.
func checkPhone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](phoneProblems))
	if err != nil {
		t.Fatalf("measure %s: %v", what, err)
	}
	var m struct {
		ScrollWidth, InnerWidth int
		Small                   []string
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if m.ScrollWidth > m.InnerWidth {
		t.Errorf("%s at 390 px: the page is %d px wide, wider than the %d px window", what, m.ScrollWidth, m.InnerWidth)
	}
	for _, s := range m.Small {
		t.Errorf("%s at 390 px: tap target under 24 x 24: %s", what, s)
	}
}

// shotName is a screenshot's file name for the running test.
func shotName(t *testing.T) string {
	return strings.NewReplacer("/", "-", "?", "_", "&", "_", "=", "-", "{", "", "}", "", "#", "").Replace(t.Name())
}

// signOut signs the tab out through the nav bar's button.
func signOut(t *testing.T, ctx context.Context, baseURL string) {
	t.Helper()
	do(t, ctx, "sign out", chromedp.Navigate(baseURL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="landing"]`)))
}

func TestBrowserAuditEveryPage(t *testing.T) {
	app := newTestApp(t, withAllocation(5))
	ctx := context.Background()
	ann := app.user("ann@example.com", "ann", true)
	if _, err := app.store.Users.Create(ctx, models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true}); err != nil {
		t.Fatal(err)
	}
	// A realistic long address, which once made the home page scroll sideways on a phone.
	var inv models.Invitation
	for _, e := range []string{"christopher.montgomery@engineering.example.edu", "bob@example.com", "newfriend@example.com"} {
		var err error
		if inv, _, err = app.store.Invitations.CreateFrom(ctx, ann, e, "See you there!", 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app.store.Staff.AddToAll(ctx, ann.ID, 1, false); err != nil {
		t.Fatal(err)
	}
	join := linkIn(t, app.lastMailTo("newfriend@example.com"), "/join/")

	browser := newBrowser(t)
	allowAxe(t, browser)
	role := ""
	for _, p := range auditedPages {
		if p.role != role {
			if role != "" {
				signOut(t, browser, app.srv.URL)
			}
			switch p.role {
			case "member":
				signIn(t, browser, app.srv.URL, "ann")
			case "staff":
				signIn(t, browser, app.srv.URL, "boss")
			}
			role = p.role
		}
		path := strings.NewReplacer("/join/{token}", join, "{ann}", strconv.FormatInt(ann.ID, 10), "{inv}", strconv.FormatInt(inv.ID, 10)).Replace(p.path)
		t.Run(p.role+p.path, func(t *testing.T) {
			auditPage(t, browser, app.srv.URL+path)
		})
	}
}

// evalBool evaluates js in ctx's tab.
func evalBool(t *testing.T, ctx context.Context, js string) bool {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS waits up to 10 s for the JavaScript condition cond to hold in
// ctx's tab (a settled swap, a focus moved), failing the test with what.
func waitJS(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if evalBool(t, ctx, "!!("+cond+")") {
			return
		}
	}
	screenshot(t, ctx, "failed-"+shotName(t))
	t.Fatalf("%s: %s never held", what, cond)
}

// The member's htmx experience on the home page: the success message, the
// refused field focused, the badge turning "sent" by itself, a 429 on
// resend shown, and a server error that leaves the form and its input.
func TestBrowserInvitePanelAnswersEveryAction(t *testing.T) {
	app := newTestApp(t, withAllocation(5))
	app.user("ann@example.com", "ann", true)
	browser := newBrowser(t)
	allowAxe(t, browser)
	acceptDialogs(browser)
	signIn(t, browser, app.srv.URL, "ann")
	evalBool(t, browser, `window.__noReload = true`)

	do(t, browser, "refused invite", steps(
		fill("#invite-email", "not an address"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="email-error"]`))},
	)...)
	waitJS(t, browser, "focus on the refused field", `document.activeElement && document.activeElement.id === "invite-email"`)
	checkAxe(t, browser, "refused invite")

	do(t, browser, "invite", steps(
		refill("#invite-email", "christopher.montgomery@engineering.example.edu"),
		fill("#invite-note", "Chess on Tuesdays?"),
		[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#status p`))},
	)...)
	if got := text(t, browser, "#status"); got != "Invitation sent to christopher.montgomery@engineering.example.edu." {
		t.Errorf("status after inviting = %q", got)
	}
	if got := text(t, browser, `[data-testid="delivery"]`); got != "email queued" {
		t.Errorf("badge = %q; want email queued", got)
	}
	checkAxe(t, browser, "invitation sent")
	screenshot(t, browser, "invite-panel-sent--1280")

	// The mail worker sends it; the badge polls and turns "sent".
	app.deliver()
	do(t, browser, "badge turns sent", chromedp.WaitVisible(chromedp.CSS(`[data-testid="delivery"][data-delivery="sent"]`)))
	if !evalBool(t, browser, `!document.querySelector('[hx-trigger="every 2s"]')`) {
		t.Error("the sent badge still polls")
	}
	screenshot(t, browser, "invite-panel-delivered--1280") // docs/screenshots/invite-panel.png
	do(t, browser, "phone", chromedp.EmulateViewport(390, 844))
	checkPhone(t, browser, "invite panel with a long address")
	screenshot(t, browser, "invite-panel-sent--390")
	do(t, browser, "desktop", chromedp.EmulateViewport(1280, 900))

	// Resend twice: the second is refused (429), and the home page says so.
	do(t, browser, "resend", chromedp.Click(chromedp.CSS(`[data-testid="resend"]`)))
	waitJS(t, browser, "resent", `document.querySelector("#status p")`)
	// The new row is live once htmx has processed it (after the settle).
	waitJS(t, browser, "row processed", `document.querySelector('[data-testid="resend"]').form["htmx-internal-data"]`)
	do(t, browser, "resend again", chromedp.Click(chromedp.CSS(`[data-testid="resend"]`)))
	waitJS(t, browser, "refused", `document.querySelector("#status-error p")`)
	if got := text(t, browser, "#status-error"); !strings.Contains(got, "moment ago") {
		t.Errorf("429 on the home page says %q", got)
	}
	if got := text(t, browser, `[data-testid="invitation-email"]`); got != "christopher.montgomery@engineering.example.edu" {
		t.Errorf("the row is gone after a 429: %q", got)
	}
	checkAxe(t, browser, "resend refused")
	screenshot(t, browser, "invite-panel-resend-429--1280")

	// A server error leaves the form, with what was typed, and says so.
	do(t, browser, "type", steps(fill("#invite-email", "dora@example.com"), fill("#invite-note", "Keep this note"))...)
	if err := app.store.Close(); err != nil {
		t.Fatal(err)
	}
	do(t, browser, "invite fails", chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)))
	waitJS(t, browser, "refused", `document.querySelector("#status-error p")`)
	if got := text(t, browser, "#status-error"); !strings.Contains(got, "We could not complete that request.") {
		t.Errorf("500 says %q", got)
	}
	if v, _ := chromedp.Run(browser, chromedp.Value(chromedp.CSS("#invite-email"))); v != "dora@example.com" {
		t.Errorf("after a 500 the address field holds %q", v)
	}
	if v, _ := chromedp.Run(browser, chromedp.Value(chromedp.CSS("#invite-note"))); v != "Keep this note" {
		t.Errorf("after a 500 the note holds %q", v)
	}
	if !evalBool(t, browser, `!document.querySelector('#invite-submit, [data-testid="invite-submit"]').disabled`) {
		t.Error("the submit button stays disabled after a 500")
	}
	checkAxe(t, browser, "server error")
	screenshot(t, browser, "invite-panel-500--1280")
	if !evalBool(t, browser, `window.__noReload === true`) {
		t.Error("the page reloaded")
	}

	// The server is gone: the request fails, and the page says so.
	app.srv.Listener.Close()
	app.srv.CloseClientConnections()
	do(t, browser, "invite without a server", chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)))
	waitJS(t, browser, "network failure", `/Could not reach the server/.test(document.querySelector("#status-error").textContent)`)
	if v, _ := chromedp.Run(browser, chromedp.Value(chromedp.CSS("#invite-email"))); v != "dora@example.com" {
		t.Errorf("after a network failure the address field holds %q", v)
	}
	screenshot(t, browser, "invite-panel-offline--1280")
}

// A double click on a bulk action changes the allocation once: the button
// is disabled while the request runs.
func TestBrowserBulkDoubleClickAppliesOnce(t *testing.T) {
	app := newTestApp(t, withAllocation(2))
	ctx := context.Background()
	if _, err := app.store.Users.Create(ctx, models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true}); err != nil {
		t.Fatal(err)
	}
	ann := app.user("ann@example.com", "ann", true)
	browser := newBrowser(t)
	questions := make(chan string, 4)
	dialogs := chromedp.Events(browser, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			questions <- ev.Message
			chromedp.Call(browser, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	signIn(t, browser, app.srv.URL, "boss")
	do(t, browser, "dashboard", chromedp.Navigate(app.srv.URL+"/staff"), chromedp.WaitVisible(chromedp.CSS("#bulk-addto")))
	do(t, browser, "amount", fill("#bulk-addto-amount", "5")...)
	// Two clicks with nothing in between, as fast as a hand cannot.
	// While the first runs, the button is disabled and the form busy.
	busy := evalBool(t, browser, `(() => { const b = document.querySelector('[data-testid="bulk-addto-submit"]'); b.click();
		const busy = b.disabled && b.form.getAttribute("aria-busy") === "true"; b.click(); return busy })()`)
	if !busy {
		t.Error("while the request runs, the button is not disabled or the form not aria-busy")
	}
	waitJS(t, browser, "done", `document.querySelector("#status p")`)
	if got := text(t, browser, "#status"); got != "Added 5 invitations to 2 users." {
		t.Errorf("status = %q", got)
	}
	select {
	case q := <-questions:
		if q != "Add 5 invitations to every member with a limited allocation? There are 2 members." {
			t.Errorf("the confirmation asks %q", q)
		}
	default:
		t.Error("no confirmation was asked")
	}
	a, err := app.store.Users.Allocation(ctx, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Allocated != 7 {
		t.Errorf("ann's allocation is %d after a double click; want 7 (2 + 5 once)", a.Allocated)
	}
	entries, _, err := app.store.Staff.Audit(ctx, 1, 10)
	if err != nil || len(entries) != 1 {
		t.Errorf("audit entries %d (%v); want 1", len(entries), err)
	}
	screenshot(t, browser, "staff-bulk-done--1280")
}
