package handlers_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/models"
)

func withConfig(fn func(*handlers.Config)) appOption {
	return func(_ *models.Options, c *handlers.Config) { fn(c) }
}

// postFrom posts form as a browser behind a proxy that wrote xff.
func (c *client) postFrom(xff, path string, form url.Values) response {
	c.t.Helper()
	return c.post(path, form, "X-Forwarded-For", xff)
}

// A username and an email of one account share one budget of failed
// sign-ins; while it is spent even the right password is refused, and a
// password reset ends the lockout.
func TestLoginLimitIsPerAccountAndAResetClearsIt(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	for i := range 10 {
		login := "ann"
		if i%2 == 1 {
			login = " ANN@example.com"
		}
		expect(t, "failed sign-in "+strconv.Itoa(i+1), c.post("/login", url.Values{"login": {login}, "password": {"guess"}}), http.StatusUnprocessableEntity)
	}
	res := c.post("/login", url.Values{"login": {"ann@example.com"}, "password": {testPassword}})
	expect(t, "right password by email after 10 failures", res, http.StatusTooManyRequests, "Too many sign-in attempts for this account")
	if res.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	expect(t, "right password by username", c.post("/login", url.Values{"login": {"ann"}, "password": {testPassword}}), http.StatusTooManyRequests)
	// Unknown logins have budgets of their own.
	expect(t, "another login", c.post("/login", url.Values{"login": {"nobody"}, "password": {"guess"}}), http.StatusUnprocessableEntity)

	owner := app.client()
	expect(t, "reset request", owner.post("/password/forgot", url.Values{"email": {"ann@example.com"}}), http.StatusOK)
	path := linkIn(t, app.lastMailTo("ann@example.com"), "/password/reset/")
	expect(t, "reset", owner.post(path, url.Values{"password": {"a new long password"}}), http.StatusSeeOther)
	app.client().login("ann", "a new long password")
}

// Successes do not count against the account: eleven sign-ins in a row work.
func TestLoginLimitCountsFailuresOnly(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	for range 11 {
		app.client().login("ann", testPassword)
	}
}

// A login as large as the form allows is answered like any other.
func TestHugeLoginIsJustAFailure(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	huge := strings.Repeat("x", 60<<10)
	for range 11 {
		c.post("/login", url.Values{"login": {huge}, "password": {"guess"}})
	}
	expect(t, "11th huge login", c.post("/login", url.Values{"login": {huge}, "password": {"guess"}}), http.StatusTooManyRequests, "for this account")
}

// Without trusted proxies X-Forwarded-For is ignored: every request from
// the connection's address shares its budget, whatever the header says.
func TestForwardedForIgnoredWithoutTrustedProxies(t *testing.T) {
	app := newTestApp(t, withOpenSignup(), withConfig(func(c *handlers.Config) { c.JoinRate = 2 }))
	c := app.client()
	bad := url.Values{"email": {"x"}}
	expect(t, "first", c.postFrom("203.0.113.1", "/signup", bad), http.StatusUnprocessableEntity)
	expect(t, "second", c.postFrom("203.0.113.2", "/signup", bad), http.StatusUnprocessableEntity)
	expect(t, "third, another header", c.postFrom("198.51.100.9", "/signup", bad), http.StatusTooManyRequests, "Too many sign-up attempts")
}

// Behind a trusted proxy the client is the rightmost X-Forwarded-For entry
// outside the trusted networks; what a client puts to its left is not
// believed.
func TestForwardedForFromTrustedProxies(t *testing.T) {
	app := newTestApp(t, withOpenSignup(), withConfig(func(c *handlers.Config) {
		c.JoinRate = 2
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	}))
	c := app.client()
	bad := url.Values{"email": {"x"}}
	expect(t, "first from .1", c.postFrom("203.0.113.1", "/signup", bad), http.StatusUnprocessableEntity)
	expect(t, "second from .1, through two proxies", c.postFrom("203.0.113.1, 10.1.2.3", "/signup", bad), http.StatusUnprocessableEntity)
	expect(t, "third from .1, with a forged entry", c.postFrom("198.51.100.9, 203.0.113.1", "/signup", bad), http.StatusTooManyRequests)
	expect(t, "another client", c.postFrom("203.0.113.2", "/signup", bad), http.StatusUnprocessableEntity)
	// An IPv6 client counts as its /64: a new address from the same
	// network for each try is the same client.
	expect(t, "first from a /64", c.postFrom("2001:db8:1:2::1", "/signup", bad), http.StatusUnprocessableEntity)
	expect(t, "second, another address in it", c.postFrom("2001:db8:1:2:ffff::9", "/signup", bad), http.StatusUnprocessableEntity)
	expect(t, "third, yet another", c.postFrom("2001:db8:1:2:abcd:1:2:3", "/signup", bad), http.StatusTooManyRequests)
	expect(t, "the next /64", c.postFrom("2001:db8:1:3::1", "/signup", bad), http.StatusUnprocessableEntity)
}

// BECKON_JOIN_RATE counts sign-up attempts per client address on every way
// of signing up: POST /signup, POST /join/{token} and the API's join.
func TestJoinRateOnEverySignupPath(t *testing.T) {
	for _, path := range []string{"/signup", "/join", "/api"} {
		app := newTestApp(t, withOpenSignup(), withConfig(func(c *handlers.Config) { c.JoinRate = 20 }))
		ann := app.user("ann@example.com", "ann", true)
		if _, _, err := app.store.Invitations.Create(context.Background(), ann.ID, "bob@example.com", "", 0); err != nil {
			t.Fatal(err)
		}
		link := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
		c := app.client()
		// Each attempt is refused for its weak password, so none joins.
		attempt := func() (int, string, http.Header) {
			switch path {
			case "/signup":
				res := c.post("/signup", url.Values{"email": {"bob@example.com"}, "username": {"bob"}, "password": {"short"}})
				return res.status, res.body, res.header
			case "/join":
				res := c.post(link, url.Values{"email": {"bob@example.com"}, "username": {"bob"}, "password": {"short"}})
				return res.status, res.body, res.header
			default:
				status, body, header := app.apiCall(t, "POST", "/api/v1/invite/"+strings.TrimPrefix(link, "/join/"), "", map[string]any{"password": "short"})
				if status == http.StatusTooManyRequests {
					return status, errCode(body), header
				}
				return status, "", header
			}
		}
		for i := range 20 {
			if status, _, _ := attempt(); status != http.StatusUnprocessableEntity {
				t.Fatalf("%s attempt %d: status %d; want 422", path, i+1, status)
			}
		}
		status, body, header := attempt()
		if status != http.StatusTooManyRequests || header.Get("Retry-After") == "" {
			t.Errorf("%s 21st attempt: status %d, Retry-After %q; want 429 with Retry-After", path, status, header.Get("Retry-After"))
		}
		want := "Too many sign-up attempts from your network."
		if path == "/api" {
			want = "rate_limited"
		}
		if !strings.Contains(body, want) {
			t.Errorf("%s 21st attempt: body lacks %q: %.300s", path, want, body)
		}
	}
}

// /password/forgot is limited per client address, whatever the addresses
// asked for.
func TestForgotPasswordIsLimitedPerClient(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	for i := range 10 {
		expect(t, "request "+strconv.Itoa(i+1), c.post("/password/forgot", url.Values{"email": {"x" + strconv.Itoa(i) + "@example.com"}}), http.StatusOK)
	}
	res := c.post("/password/forgot", url.Values{"email": {"other@example.com"}})
	expect(t, "11th request", res, http.StatusTooManyRequests, "Too many password reset requests from your network.")
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

// Refusals as "already a member" count towards the hourly invite limit, so
// the form and the API are no unlimited oracle of who is registered: after
// 20, the 21st attempt gets 429 whatever the address.
func TestInviteRefusalsCountTowardsTheHourlyLimit(t *testing.T) {
	app := newTestApp(t, withAllocation(0))
	c, ann := app.member("ann@example.com", "ann")
	app.user("bob@example.com", "bob", true)
	for i := range 20 {
		expect(t, "refusal "+strconv.Itoa(i+1), c.post("/invitations", invite("bob@example.com", ""), htmx...), http.StatusUnprocessableEntity, "bob@example.com is already a member.")
	}
	res := c.post("/invitations", invite("stranger@example.com", ""), htmx...)
	expect(t, "21st attempt", res, http.StatusTooManyRequests, "in the last hour")
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	expect(t, "a member's address now", c.post("/invitations", invite("bob@example.com", "")), http.StatusTooManyRequests)
	status, body, _ := app.apiCall(t, "POST", "/api/v1/invite/", app.tokenFor(t, ann), map[string]any{"email": "bob@example.com"})
	if status != http.StatusTooManyRequests || errCode(body) != "rate_limited" {
		t.Errorf("API after the budget: %d %v; want 429 rate_limited", status, body)
	}
}

// An account for U+212A KELVIN SIGN + "ate@corp.test" is not kate@corp.test:
// it neither blocks her invitation or signup nor receives her reset.
func TestKelvinSignAddressIsAnotherAddress(t *testing.T) {
	app := newTestApp(t, withOpenSignup())
	const kelvin = "\u212Aate@corp.test"
	squat := app.client()
	expect(t, "signup as the look-alike", squat.post("/signup", url.Values{"email": {kelvin}, "username": {"squat"}, "password": {testPassword}}), http.StatusSeeOther)

	c, _ := app.member("ann@example.com", "ann")
	expect(t, "invite kate", c.post("/invitations", invite("kate@corp.test", "")), http.StatusSeeOther)

	before := len(app.deliver())
	expect(t, "reset for kate", app.client().post("/password/forgot", url.Values{"email": {"kate@corp.test"}}), http.StatusOK)
	for _, m := range app.deliver()[before:] {
		if m.To == kelvin || strings.Contains(m.To, "\u212A") {
			t.Errorf("kate's reset was mailed to %q", m.To)
		}
	}
	expect(t, "kate signs up", app.client().post("/signup", url.Values{"email": {"kate@corp.test"}, "username": {"kate"}, "password": {testPassword}}), http.StatusSeeOther)
	expect(t, "the look-alike again", app.client().post("/signup", url.Values{"email": {kelvin}, "username": {"squat2"}, "password": {testPassword}}),
		http.StatusUnprocessableEntity, "An account with this email address already exists.")
}

// Control, format and bidi-override characters are refused with 422 in
// addresses, display names, notes and token names; a note may hold lines.
func TestHiddenCharactersAreRefused(t *testing.T) {
	app := newTestApp(t)
	c, ann := app.member("ann@example.com", "ann")
	const hidden = "Remove the invisible or control characters"
	expect(t, "address", c.post("/invitations", invite("bo\u200Bb@example.com", ""), htmx...), http.StatusUnprocessableEntity, "Enter a valid email address.")
	expect(t, "note", c.post("/invitations", invite("bob@example.com", "hi\u202Eevil"), htmx...), http.StatusUnprocessableEntity, hidden)
	expect(t, "name", c.post("/settings", url.Values{"name": {"Beckon\u202E Security"}}), http.StatusUnprocessableEntity, hidden)
	expect(t, "token name", c.post("/settings/tokens", url.Values{"name": {"ci\x07"}}), http.StatusUnprocessableEntity, hidden)
	status, body, _ := app.apiCall(t, "POST", "/api/v1/invite/", app.tokenFor(t, ann), map[string]any{"email": "bob@example.com", "note": "a\u2066b"})
	if status != http.StatusUnprocessableEntity || !strings.HasPrefix(fieldMsg(body, "note"), hidden) {
		t.Errorf("API note: %d %v", status, body)
	}
	expect(t, "a note on two lines", c.post("/invitations", invite("bob@example.com", "Hello,\r\n\tsee you there")), http.StatusSeeOther)
}

// At 0 left the address is still checked first (SPEC 5): an empty or
// invalid address gets its own message, not "You have no invitations left."
func TestAddressMessagesComeFirstAtZeroLeft(t *testing.T) {
	app := newTestApp(t, withAllocation(0))
	c, ann := app.member("ann@example.com", "ann")
	token := app.tokenFor(t, ann)
	for _, tc := range []struct{ email, msg string }{
		{"", "Enter an email address."},
		{"nope", "Enter a valid email address."},
	} {
		for _, hx := range [][]string{htmx, nil} {
			res := c.post("/invitations", invite(tc.email, ""), hx...)
			expect(t, "form "+tc.email, res, http.StatusUnprocessableEntity, tc.msg)
			if strings.Contains(res.body, "You have no invitations left.") {
				t.Errorf("form %q (htmx %v): answered no invitations left", tc.email, hx != nil)
			}
		}
		status, body, _ := app.apiCall(t, "POST", "/api/v1/invite/", token, map[string]any{"email": tc.email})
		if status != http.StatusUnprocessableEntity || fieldMsg(body, "email") != tc.msg {
			t.Errorf("API %q: %d %v; want 422 %q", tc.email, status, body, tc.msg)
		}
	}
	res := c.post("/invitations", invite("bob@example.com", ""), htmx...)
	expect(t, "a valid address", res, http.StatusUnprocessableEntity, "You have no invitations left.")
	if strings.Contains(res.body, "<form") {
		t.Error("at none left with a valid address the form is still a form")
	}
	status, body, _ := app.apiCall(t, "POST", "/api/v1/invite/", token, map[string]any{"email": "bob@example.com"})
	if status != http.StatusUnprocessableEntity || fieldMsg(body, "email") != "You have no invitations left." {
		t.Errorf("API valid address: %d %v", status, body)
	}
}
