package handlers_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	{"member", "/"},
	{"member", "/invitations"},
	{"member", "/invitations?status=revoked"},
	{"member", "/tree"},
	{"member", "/u/ann"},
	{"member", "/settings"},
	{"member", "/settings/tokens"},
	{"member", "/staff"}, // refused: the error page
	{"staff", "/staff"},
	{"staff", "/staff/confirm?kind=addto&amount=5"},
	{"staff", "/staff/users"},
	{"staff", "/staff/invitations"},
	{"staff", "/staff/audit"},
	{"staff", "/staff/settings"},
	{"staff", "/staff/invitations/expire-all"},
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
	for _, e := range []string{"christopher.montgomery@engineering.example.edu", "bob@example.com", "newfriend@example.com"} {
		if _, _, err := app.store.Invitations.CreateFrom(ctx, ann, e, "See you there!", 0); err != nil {
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
		path := strings.Replace(p.path, "/join/{token}", join, 1)
		t.Run(p.role+p.path, func(t *testing.T) {
			auditPage(t, browser, app.srv.URL+path)
		})
	}
}
