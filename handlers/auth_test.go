package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSetupCreatesFirstAdminThenDisappears(t *testing.T) {
	app := newTestApp(t)
	c := app.client()

	expect(t, "GET /setup on an empty database", c.get("/setup"), http.StatusOK, "Create administrator")

	res := c.post("/setup", url.Values{"email": {"not-an-email"}, "username": {"A"}, "password": {"short"}})
	expect(t, "POST /setup with bad fields", res, http.StatusUnprocessableEntity,
		"Enter a valid email address.", "Use 3 to 30 lowercase letters, digits, _ or -.", "Use at least 8 characters.")

	res = c.post("/setup", url.Values{"email": {"boss@example.com"}, "username": {"boss"}, "password": {"boss@example.com"}})
	expect(t, "POST /setup with the email as password", res, http.StatusUnprocessableEntity,
		"Your password must differ from your email address and username.")

	res = c.post("/setup", url.Values{"email": {" Boss@Example.com "}, "username": {"Boss"}, "password": {testPassword}})
	expect(t, "POST /setup", res, http.StatusSeeOther)
	u, err := app.store.Users.GetByLogin(context.Background(), "boss@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Superuser || !u.Staff || !u.Verified() || u.Username != "boss" || u.Email != "Boss@Example.com" {
		t.Errorf("first user = %+v; want a verified superuser @boss with the email as typed", u)
	}
	expect(t, "home after setup", c.get("/"), http.StatusOK, "@boss", "Invite a friend")

	expect(t, "GET /setup once a user exists", app.client().get("/setup"), http.StatusNotFound)
	expect(t, "POST /setup once a user exists", app.client().post("/setup",
		url.Values{"email": {"two@example.com"}, "username": {"two"}, "password": {testPassword}}), http.StatusNotFound)
}

func TestLoginRenewsSessionAndGivesOneGenericError(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	c.get("/login")
	c.post("/login", url.Values{"login": {"nobody"}, "password": {"x"}}) // creates a session for the visitor
	before := c.cookie("beckon_session")

	for _, tc := range []struct{ login, password string }{
		{"ann@example.com", "wrong password"},
		{"nobody@example.com", testPassword},
		{"", ""},
	} {
		res := c.post("/login", url.Values{"login": {tc.login}, "password": {tc.password}})
		expect(t, "login "+tc.login, res, http.StatusUnprocessableEntity, "That email or username and password do not match an account.")
	}

	res := c.post("/login", url.Values{"login": {"ANN@example.com "}, "password": {testPassword}, "next": {"/settings"}})
	expect(t, "login by email, any case", res, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/settings" {
		t.Errorf("redirect after login = %q; want /settings", loc)
	}
	if after := c.cookie("beckon_session"); after == "" || after == before {
		t.Errorf("session cookie not renewed at sign-in: before %q, after %q", before, after)
	}
	expect(t, "settings once signed in", c.get("/settings"), http.StatusOK, "ann@example.com")

	signedIn := c.cookie("beckon_session")
	expect(t, "logout", c.post("/logout", nil), http.StatusSeeOther)
	if c.cookie("beckon_session") == signedIn {
		t.Error("session cookie not renewed at sign-out")
	}
	res = c.get("/settings")
	expect(t, "settings after logout", res, http.StatusSeeOther)

	c2 := app.client()
	c2.login("ann", testPassword) // by username
	expect(t, "open redirect refused", c2.post("/login", url.Values{"login": {"ann"}, "password": {testPassword}, "next": {"//evil.example"}}), http.StatusSeeOther)
}

func TestMembersPagesSendVisitorsToLoginAndBack(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	for _, path := range []string{"/settings", "/invitations", "/tree", "/u/ann"} {
		res := c.get(path)
		want := "/login?next=" + url.QueryEscape(path)
		if res.status != http.StatusSeeOther || res.header.Get("Location") != want {
			t.Errorf("GET %s signed out: %d to %q; want 303 to %q", path, res.status, res.header.Get("Location"), want)
		}
	}
	res := c.post("/login", url.Values{"login": {"ann"}, "password": {testPassword}, "next": {"/invitations?status=pending"}})
	if loc := res.header.Get("Location"); loc != "/invitations?status=pending" {
		t.Errorf("back after login = %q", loc)
	}
	res = c.get("/settings", htmx...)
	if res.status != http.StatusOK {
		t.Errorf("signed-in htmx GET /settings = %d", res.status)
	}
	res = app.client().get("/settings", htmx...)
	if res.status != http.StatusUnauthorized || !strings.HasPrefix(res.header.Get("HX-Redirect"), "/login?next=") {
		t.Errorf("htmx GET signed out = %d %q; want 401 with HX-Redirect to /login", res.status, res.header.Get("HX-Redirect"))
	}
}

func TestCrossSitePostIsForbidden(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	c.login("ann", testPassword)
	for _, path := range []string{"/logout", "/settings", "/invitations", "/login"} {
		res := c.post(path, url.Values{"name": {"x"}}, "Sec-Fetch-Site", "cross-site")
		expect(t, "cross-site POST "+path, res, http.StatusForbidden, "came from another site")
		res = c.post(path, url.Values{"name": {"x"}}, "Sec-Fetch-Site", "", "Origin", "https://evil.example")
		expect(t, "foreign-origin POST "+path, res, http.StatusForbidden)
	}
	expect(t, "still signed in", c.get("/settings"), http.StatusOK)
}

func TestLoginIsRateLimited(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	var last response
	for i := 0; i < 11; i++ {
		last = c.post("/login", url.Values{"login": {"ann"}, "password": {"guess"}})
	}
	expect(t, "11th failed attempt on one account", last, http.StatusTooManyRequests, "Too many sign-in attempts for this account")
	if last.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Even the right password is refused while the account is locked.
	expect(t, "right password while limited", c.post("/login", url.Values{"login": {"ann"}, "password": {testPassword}}), http.StatusTooManyRequests)

	for i := 0; i < 30; i++ {
		c.post("/login", url.Values{"login": {"someone" + string(rune('a'+i%26)) + "x"}, "password": {"guess"}})
	}
	expect(t, "31st attempt from one address", c.post("/login", url.Values{"login": {"fresh"}, "password": {"guess"}}), http.StatusTooManyRequests, "from your network")
}

func TestSignupModes(t *testing.T) {
	closed := newTestApp(t)
	expect(t, "invite-only GET /signup", closed.client().get("/signup"), http.StatusOK, "Joining is by invitation")
	expect(t, "invite-only POST /signup", closed.client().post("/signup",
		url.Values{"email": {"a@example.com"}, "username": {"aaa"}, "password": {testPassword}}), http.StatusForbidden)

	open := newTestApp(t, withOpenSignup())
	open.user("taken@example.com", "taken", true)
	c := open.client()
	expect(t, "open GET /signup", c.get("/signup"), http.StatusOK, "Create account")
	expect(t, "empty signup", c.post("/signup", url.Values{}), http.StatusUnprocessableEntity,
		"Enter an email address.", "Choose a username.", "Enter a password.")
	expect(t, "duplicate email, other case", c.post("/signup",
		url.Values{"email": {"TAKEN@example.com"}, "username": {"new1"}, "password": {testPassword}}),
		http.StatusUnprocessableEntity, "An account with this email address already exists.")
	expect(t, "duplicate username", c.post("/signup",
		url.Values{"email": {"new@example.com"}, "username": {"Taken"}, "password": {testPassword}}),
		http.StatusUnprocessableEntity, "That username is taken.")
	expect(t, "too long password", c.post("/signup",
		url.Values{"email": {"new@example.com"}, "username": {"new1"}, "password": {strings.Repeat("x", 129)}}),
		http.StatusUnprocessableEntity, "Use at most 128 characters.")
	expect(t, "signup", c.post("/signup",
		url.Values{"email": {"new@example.com"}, "username": {"new1"}, "password": {testPassword}}), http.StatusSeeOther)
	expect(t, "unverified home", c.get("/"), http.StatusOK, "Confirm your email address before sending invitations")
}

func TestConfirmEmail(t *testing.T) {
	app := newTestApp(t, withOpenSignup())
	c := app.client()
	c.post("/signup", url.Values{"email": {"new@example.com"}, "username": {"newbie"}, "password": {testPassword}})
	msg := app.lastMailTo("new@example.com")
	if !strings.Contains(msg.Subject, "Confirm") {
		t.Errorf("subject = %q", msg.Subject)
	}
	path := linkIn(t, msg, "/confirm-email/")
	assertNoRawTokenInDB(t, app, strings.TrimPrefix(path, "/confirm-email/"), "new@example.com")

	// A mail scanner fetching the link changes nothing.
	res := app.client().get(path)
	expect(t, "GET confirmation link", res, http.StatusOK, "Confirm my address", `data-testid="confirm-address">new@example.com<`)
	if res.header.Get("Referrer-Policy") != "no-referrer" || res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token page headers: %v", res.header)
	}
	u, _ := app.store.Users.GetByLogin(context.Background(), "newbie")
	if u.Verified() {
		t.Fatal("GET confirmed the address")
	}
	expect(t, "POST confirmation link", app.client().post(path, nil), http.StatusSeeOther)
	u, _ = app.store.Users.GetByLogin(context.Background(), "newbie")
	if !u.Verified() {
		t.Fatal("POST did not confirm the address")
	}
	expect(t, "link used twice", app.client().post(path, nil), http.StatusGone, "already used")
	expect(t, "unknown link", app.client().get("/confirm-email/nope"), http.StatusNotFound)
	// The confirmation came from another browser: the signup's session, made
	// before the address was proven, has ended.
	expect(t, "signup browser after confirmation elsewhere", c.get("/settings"), http.StatusSeeOther)
	c.login("newbie", testPassword)
	expect(t, "invite form once verified", c.get("/"), http.StatusOK, "Send invitation")
}

func TestConfirmationLinkExpiresAfterThreeDays(t *testing.T) {
	app := newTestApp(t, withOpenSignup())
	app.client().post("/signup", url.Values{"email": {"new@example.com"}, "username": {"newbie"}, "password": {testPassword}})
	path := linkIn(t, app.lastMailTo("new@example.com"), "/confirm-email/")
	app.clock.Advance(72*60*60*1e9 + 1e9)
	expect(t, "expired confirmation", app.client().post(path, nil), http.StatusGone, "expired")
}

func TestPasswordReset(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	expect(t, "forgot form", c.get("/password/forgot"), http.StatusOK)
	expect(t, "bad address", c.post("/password/forgot", url.Values{"email": {"nope"}}), http.StatusUnprocessableEntity, "Enter a valid email address.")
	expect(t, "unknown address", c.post("/password/forgot", url.Values{"email": {"ghost@example.com"}}), http.StatusOK, "If an account uses that address")
	if n := len(app.deliver()); n != 0 {
		t.Errorf("an email went to an unknown address (%d sent)", n)
	}
	expect(t, "known address", c.post("/password/forgot", url.Values{"email": {"ANN@example.com"}}), http.StatusOK, "If an account uses that address")
	path := linkIn(t, app.lastMailTo("ann@example.com"), "/password/reset/")
	assertNoRawTokenInDB(t, app, strings.TrimPrefix(path, "/password/reset/"), "ann@example.com")

	expect(t, "reset form", c.get(path), http.StatusOK, "Choose a new password")
	expect(t, "weak password", c.post(path, url.Values{"password": {"ann"}}), http.StatusUnprocessableEntity, "Use at least 8 characters.")
	expect(t, "reset", c.post(path, url.Values{"password": {"a brand new secret"}}), http.StatusSeeOther)
	expect(t, "signed in after reset", c.get("/settings"), http.StatusOK)
	expect(t, "reset link reused", app.client().post(path, url.Values{"password": {"another secret!"}}), http.StatusGone)

	d := app.client()
	expect(t, "old password", d.post("/login", url.Values{"login": {"ann"}, "password": {testPassword}}), http.StatusUnprocessableEntity)
	d.login("ann", "a brand new secret")

	// A reset link lives one hour.
	c.post("/password/forgot", url.Values{"email": {"ann@example.com"}})
	path = linkIn(t, app.lastMailTo("ann@example.com"), "/password/reset/")
	app.clock.Advance(61 * 60 * 1e9)
	expect(t, "expired reset link", app.client().get(path), http.StatusGone, "expired")
}

func TestSettingsChangeNameAndPassword(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	c.login("ann", testPassword)
	expect(t, "name too long", c.post("/settings", url.Values{"name": {strings.Repeat("n", 81)}}), http.StatusUnprocessableEntity, "Use at most 80 characters.")
	expect(t, "set name", c.post("/settings", url.Values{"name": {"Ann Smith"}}), http.StatusSeeOther)
	expect(t, "name shown", c.get("/settings"), http.StatusOK, "Ann Smith", "Your settings are saved.")

	expect(t, "wrong current password", c.post("/settings/password",
		url.Values{"current_password": {"nope"}, "new_password": {"another secret"}}),
		http.StatusUnprocessableEntity, "That is not your current password.")
	expect(t, "new password too short", c.post("/settings/password",
		url.Values{"current_password": {testPassword}, "new_password": {"short"}}),
		http.StatusUnprocessableEntity, "Use at least 8 characters.")
	before := c.cookie("beckon_session")
	expect(t, "change password", c.post("/settings/password",
		url.Values{"current_password": {testPassword}, "new_password": {"another secret"}}), http.StatusSeeOther)
	if c.cookie("beckon_session") == before {
		t.Error("session token not renewed on password change")
	}
	app.client().login("ann", "another secret")
}

func TestHealthzHeadersAndErrors(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	expect(t, "healthz", c.get("/healthz"), http.StatusOK, "ok")
	res := c.get("/")
	expect(t, "landing", res, http.StatusOK, "<html", "Sign in")
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
		if res.header.Get(h) == "" {
			t.Errorf("missing header %s", h)
		}
	}
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	expect(t, "unknown page", c.get("/nowhere"), http.StatusNotFound, "<html", "Not found")
	expect(t, "htmx", c.get("/static/js/htmx.min.js"), http.StatusOK, "htmx")
	expect(t, "css", c.get("/static/css/app.css"), http.StatusOK)
	big := url.Values{"login": {strings.Repeat("x", 100<<10)}}
	expect(t, "oversized form", c.post("/login", big), http.StatusBadRequest)
}

func TestResetEmailsToOneAddressAreLimited(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	for range 5 {
		expect(t, "reset request", c.post("/password/forgot", url.Values{"email": {"ann@example.com"}}), http.StatusOK)
	}
	res := c.post("/password/forgot", url.Values{"email": {"ANN@example.com"}})
	expect(t, "sixth reset request in an hour", res, http.StatusTooManyRequests, "Try again later.")
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if n := len(app.deliver()); n != 5 {
		t.Errorf("%d reset emails sent; want 5", n)
	}
}

// The sign-in page says how to join, and the reset page leads back.
func TestSignInAndResetPagesLeadOn(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	expect(t, "sign in", c.get("/login"), http.StatusOK, `href="/password/forgot"`, `href="/signup"`, "How to join")
	expect(t, "forgot password", c.get("/password/forgot"), http.StatusOK, "Remembered it?", `href="/login"`)
	expect(t, "how to join, invite-only", c.get("/signup"), http.StatusOK, "Ask for an invitation")
}
