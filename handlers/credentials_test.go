package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// legacyTokenFor makes an API token for u the way tokens were made before
// they needed a proven address, straight into the table: what an attacker
// may still hold from then.
func (a *testApp) legacyTokenFor(t *testing.T, u models.User) string {
	t.Helper()
	token, hash := models.NewToken()
	if _, err := a.store.DB.Exec(`INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, 'old', ?, 0)`,
		u.ID, hash); err != nil {
		t.Fatal(err)
	}
	return token
}

// apiStatus is the status GET /api/v1/me answers with token.
func (a *testApp) apiStatus(t *testing.T, token string) int {
	t.Helper()
	status, _, _ := a.apiCall(t, "GET", "/api/v1/me", token, nil)
	return status
}

// resetPassword asks for a reset of addr's password and uses the link from
// browser c, which ends up signed in.
func (a *testApp) resetPassword(t *testing.T, c *client, addr, password string) {
	t.Helper()
	expect(t, "forgot", c.post("/password/forgot", url.Values{"email": {addr}}), http.StatusOK)
	path := linkIn(t, a.lastMailTo(addr), "/password/reset/")
	expect(t, "reset", c.post(path, url.Values{"password": {password}}), http.StatusSeeOther)
}

// expectSignedOut checks that c's session no longer signs it in.
func expectSignedOut(t *testing.T, what string, c *client) {
	t.Helper()
	res := c.get("/settings")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("%s: GET /settings = %d to %q; want 303 to /login", what, res.status, res.header.Get("Location"))
	}
}

func TestPasswordResetEndsEverySessionAndToken(t *testing.T) {
	app := newTestApp(t)
	ann := app.user("ann@example.com", "ann", true)
	old := app.client()
	old.login("ann", testPassword)
	token := app.tokenFor(t, ann)
	if s := app.apiStatus(t, token); s != http.StatusOK {
		t.Fatalf("token before the reset: %d", s)
	}

	resetter := app.client()
	app.resetPassword(t, resetter, "ann@example.com", "a brand new secret")

	expectSignedOut(t, "older session after a reset", old)
	expect(t, "the older session is told why", old.get("/login"), http.StatusOK, "You were signed out because")
	if s := app.apiStatus(t, token); s != http.StatusUnauthorized {
		t.Errorf("API token after a reset answered %d; want 401", s)
	}
	expect(t, "the resetting browser is signed in", resetter.get("/settings"), http.StatusOK, "ann@example.com")
	old.login("ann", "a brand new secret")
	expect(t, "signing in again works", old.get("/settings"), http.StatusOK)
}

func TestPasswordChangeEndsOtherSessionsOnly(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	here, there := app.client(), app.client()
	here.login("ann", testPassword)
	there.login("ann@example.com", testPassword)
	// A reset link asked for before the change dies with it (L9).
	app.client().post("/password/forgot", url.Values{"email": {"ann@example.com"}})
	resetLink := linkIn(t, app.lastMailTo("ann@example.com"), "/password/reset/")

	before := here.cookie("beckon_session")
	expect(t, "change password", here.post("/settings/password",
		url.Values{"current_password": {testPassword}, "new_password": {"another secret"}}), http.StatusSeeOther)
	if here.cookie("beckon_session") == before {
		t.Error("session token not renewed on password change")
	}
	expect(t, "the changing browser stays signed in", here.get("/settings"), http.StatusOK, "Your password is changed")
	expect(t, "and again", here.get("/settings"), http.StatusOK, "ann@example.com")
	expectSignedOut(t, "another browser after a password change", there)
	expect(t, "reset link from before the change", app.client().get(resetLink), http.StatusGone)
}

// TestUnverifiedAddressCannotKeepAccess is H1 of the security review end to
// end: an account made through a join with a changed address (one the
// joiner does not own) can make no API token, and once the real owner proves
// the address by a reset, the joiner's session and any token they still have
// from before are dead.
func TestUnverifiedAddressCannotKeepAccess(t *testing.T) {
	app := newTestApp(t)
	admin, _ := app.member("admin@example.com", "admin")
	admin.post("/invitations", invite("att@evil.test", ""))
	join := linkIn(t, app.lastMailTo("att@evil.test"), "/join/")
	attacker := app.client()
	expect(t, "join as the victim", attacker.post(join,
		url.Values{"email": {"victim@corp.test"}, "username": {"victim"}, "password": {testPassword}}), http.StatusSeeOther)
	victimAccount, err := app.store.Users.GetByLogin(context.Background(), "victim")
	if err != nil || victimAccount.Verified() {
		t.Fatalf("joined account %+v, %v; want an unverified one", victimAccount, err)
	}

	page := attacker.get("/settings/tokens")
	expect(t, "tokens page, unverified", page, http.StatusOK, "Confirm your email address before creating API tokens")
	if strings.Contains(page.body, `data-testid="token-create"`) {
		t.Error("the tokens page offers an unverified account the create button")
	}
	res := attacker.post("/settings/tokens", url.Values{"name": {"x"}})
	expect(t, "create a token, unverified", res, http.StatusForbidden, "Confirm your email address before creating API tokens")
	if freshTokenRE.MatchString(res.body) {
		t.Error("an unverified account got a token")
	}
	if _, _, err := app.store.APITokens.Create(context.Background(), victimAccount.ID, "x"); !errors.Is(err, models.ErrTokensNeedVerified) {
		t.Errorf("models made a token for an unverified account: %v", err)
	}
	old := app.legacyTokenFor(t, victimAccount)
	if s := app.apiStatus(t, old); s != http.StatusOK {
		t.Fatalf("old token before the reset: %d", s)
	}

	victim := app.client()
	app.resetPassword(t, victim, "victim@corp.test", "the owner's own secret")
	expectSignedOut(t, "the joiner's session after the owner's reset", attacker)
	if s := app.apiStatus(t, old); s != http.StatusUnauthorized {
		t.Errorf("the joiner's old token after the owner's reset answered %d; want 401", s)
	}
	expect(t, "the owner is signed in", victim.get("/settings"), http.StatusOK, "victim@corp.test")
	expect(t, "the owner may make a token now", victim.post("/settings/tokens", url.Values{"name": {"mine"}}), http.StatusCreated)
}

func TestFirstConfirmationEndsOlderSessions(t *testing.T) {
	app := newTestApp(t, withOpenSignup())
	signup := app.client()
	expect(t, "signup", signup.post("/signup",
		url.Values{"email": {"new@example.com"}, "username": {"newbie"}, "password": {testPassword}}), http.StatusSeeOther)
	first := linkIn(t, app.lastMailTo("new@example.com"), "/confirm-email/")
	expect(t, "ask again", signup.post("/settings/confirm-email", nil), http.StatusSeeOther)
	second := linkIn(t, app.lastMailTo("new@example.com"), "/confirm-email/")
	if first == second {
		t.Fatal("the second email carries the first link")
	}
	u, _ := app.store.Users.GetByLogin(context.Background(), "newbie")
	token := app.legacyTokenFor(t, u)

	confirmer := app.client()
	confirmer.login("newbie", testPassword)
	expect(t, "confirm", confirmer.post(second, nil), http.StatusSeeOther)
	expect(t, "the session that confirmed stays", confirmer.get("/"), http.StatusOK, "is confirmed", "Send invitation")
	expectSignedOut(t, "the session from before the confirmation", signup)
	if s := app.apiStatus(t, token); s != http.StatusUnauthorized {
		t.Errorf("a token from before the confirmation answered %d; want 401", s)
	}
	expect(t, "the other confirmation link (L9)", app.client().post(first, nil), http.StatusGone)

	// Later sessions of a verified account are not touched by anything but
	// a change of credentials.
	later := app.client()
	later.login("newbie", testPassword)
	expect(t, "a later session", later.get("/settings"), http.StatusOK)
	expect(t, "the confirmer", confirmer.get("/settings"), http.StatusOK)
}

func TestLoginFollowsNextOnlyToLocalPaths(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	c.login("ann", testPassword)
	for _, tc := range []struct{ query, want string }{
		{"next=%2F%09%2Fevil.example", "/"},
		{"next=%2F%5C%2Fevil.example", "/"},
		{"next=%2F%2Fevil.example", "/"},
		{"next=https%3A%2F%2Fevil.example", "/"},
		{"next=%2F%250A%2Fevil.example", "/"},
		{"next=%2Finvitations%3Fstatus%3Dpending", "/invitations?status=pending"},
	} {
		res := c.get("/login?" + tc.query)
		if loc := res.header.Get("Location"); res.status != http.StatusSeeOther || loc != tc.want {
			t.Errorf("GET /login?%s signed in = %d to %q; want 303 to %q", tc.query, res.status, loc, tc.want)
		}
	}
	res := app.client().post("/login", url.Values{"login": {"ann"}, "password": {testPassword}, "next": {"/\t/evil.example"}})
	if loc := res.header.Get("Location"); res.status != http.StatusSeeOther || loc != "/" {
		t.Errorf("sign-in with a tab in next = %d to %q; want 303 to /", res.status, loc)
	}
}

func TestSessionTokensAreStoredHashed(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	c := app.client()
	c.login("ann", testPassword)
	cookie := c.cookie("beckon_session")
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	if where := columnsHolding(t, app, cookie); len(where) != 0 {
		t.Errorf("the raw session token is stored in %v", where)
	}
	sum := sha256.Sum256([]byte(cookie))
	if where := columnsHolding(t, app, hex.EncodeToString(sum[:])); len(where) != 1 || where[0] != "sessions.token" {
		t.Errorf("the token's hash is in %v; want sessions.token", where)
	}
	expect(t, "the session still works", c.get("/settings"), http.StatusOK, "ann@example.com")
}
