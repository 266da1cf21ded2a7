package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// sendInvitations sends invitations from c through the invite form and
// returns the paths of their links, read from the delivered emails.
func (a *testApp) sendInvitations(c *client, emails ...string) []string {
	a.t.Helper()
	var links []string
	for _, addr := range emails {
		if res := c.post("/invitations", invite(addr, "")); res.status != http.StatusSeeOther {
			a.t.Fatalf("invite %s: %d\n%s", addr, res.status, mainPart(res.body))
		}
		links = append(links, linkIn(a.t, a.lastMailTo(addr), "/join/"))
	}
	return links
}

func TestSuspensionEndsSessionsTokensAndInvitations(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	boss, _ := app.staffMember("boss@example.com", "boss")
	ann, annUser := app.member("ann@example.com", "ann")
	bob, _ := app.member("bob@example.com", "bob")
	links := app.sendInvitations(ann, "one@example.com", "two@example.com")
	token, _, err := app.store.APITokens.Create(ctx, annUser.ID, "script")
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := app.apiCall(t, "GET", "/api/v1/me", token, nil); status != http.StatusOK {
		t.Fatalf("token before: %d", status)
	}
	visitor := app.client()
	expect(t, "link before", visitor.get(links[0]), http.StatusOK)
	page := fmt.Sprintf("/staff/users/%d", annUser.ID)
	expect(t, "staff page before", boss.get(page), http.StatusOK, `data-testid="standing-good"`, `data-testid="stat-held">2<`)

	expect(t, "no reason", boss.post(page+"/suspend", url.Values{"reason": {"  "}}), http.StatusUnprocessableEntity,
		"Give a reason; it goes in the audit log.")
	expect(t, "long reason", boss.post(page+"/suspend", url.Values{"reason": {strings.Repeat("x", 501)}}), http.StatusUnprocessableEntity,
		"Keep the reason to 500 characters.")
	if ok, _ := app.store.Staff.Suspended(ctx, annUser.ID); ok {
		t.Fatal("a refused form suspended the member")
	}
	res := boss.post(page+"/suspend", url.Values{"reason": {"Sent spam to strangers"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != page {
		t.Fatalf("suspend: %d to %q", res.status, res.header.Get("Location"))
	}
	expect(t, "staff page after", boss.get(page), http.StatusOK, `data-testid="standing-suspended"`, "Sent spam to strangers",
		`data-testid="stat-held">0<`, "Suspended @ann, revoking 2 pending invitations", "Suspended: signed out everywhere, 2 pending invitations and 1 API token revoked.")

	// The open browser is signed out on its very next request.
	res = ann.get("/settings")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("suspended member's next request: %d to %q; want sent to /login", res.status, res.header.Get("Location"))
	}
	expect(t, "home after", ann.get("/"), http.StatusOK, `data-testid="landing"`)
	if status, body, _ := app.apiCall(t, "GET", "/api/v1/me", token, nil); status != http.StatusUnauthorized {
		t.Errorf("token after: %d %v", status, body)
	}
	for _, l := range links {
		expect(t, "link after", visitor.get(l), http.StatusGone, "Invitation withdrawn")
	}
	// Members see nothing of it.
	profile := bob.get("/u/ann")
	expect(t, "profile", profile, http.StatusOK)
	if strings.Contains(strings.ToLower(mainPart(profile.body)), "suspend") || strings.Contains(profile.body, "Sent spam") {
		t.Error("a member's profile tells other members about the suspension")
	}

	// Sign-in: the usual error for a wrong password, suspended only after the right one.
	fresh := app.client()
	res = fresh.post("/login", url.Values{"login": {"ann"}, "password": {"wrong password!"}})
	expect(t, "wrong password", res, http.StatusUnprocessableEntity, "That email or username and password do not match an account.")
	if strings.Contains(res.body, "suspended") {
		t.Error("a wrong password learned that the account is suspended")
	}
	res = fresh.post("/login", url.Values{"login": {"ann@example.com"}, "password": {testPassword}})
	expect(t, "right password", res, http.StatusForbidden, "This account is suspended.")
	expect(t, "still signed out", fresh.get("/"), http.StatusOK, `data-testid="landing"`)

	// Unsuspend: they sign in again; nothing revoked comes back.
	res = boss.post(page+"/unsuspend", url.Values{"reason": {""}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("unsuspend: %d\n%s", res.status, mainPart(res.body))
	}
	fresh.login("ann", testPassword)
	expect(t, "home after unsuspend", fresh.get("/"), http.StatusOK, `id="invite-email"`, `data-testid="invites-remaining">5<`)
	if status, _, _ := app.apiCall(t, "GET", "/api/v1/me", token, nil); status != http.StatusUnauthorized {
		t.Errorf("the token came back: %d", status)
	}
	expect(t, "link after unsuspend", visitor.get(links[0]), http.StatusGone, "Invitation withdrawn")
	expect(t, "audit log", boss.get("/staff/audit"), http.StatusOK, "Suspended @ann, revoking 2 pending invitations",
		"Sent spam to strangers", "Unsuspended @ann")
}

func TestStaffCannotSuspendThemselvesOnThePage(t *testing.T) {
	app := newTestApp(t)
	boss, me := app.staffMember("boss@example.com", "boss")
	page := fmt.Sprintf("/staff/users/%d", me.ID)
	expect(t, "own page", boss.get(page), http.StatusOK, "This is your own account")
	expect(t, "self suspension", boss.post(page+"/suspend", url.Values{"reason": {"x"}}), http.StatusUnprocessableEntity,
		"You cannot do this to your own account.")
	expect(t, "still signed in", boss.get("/staff"), http.StatusOK)
}

func TestInvitingOffShowsTheReasonAndRefuses(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	boss, _ := app.staffMember("boss@example.com", "boss")
	ann, annUser := app.member("ann@example.com", "ann")
	links := app.sendInvitations(ann, "one@example.com")
	token, _, _ := app.store.APITokens.Create(ctx, annUser.ID, "script")
	page := fmt.Sprintf("/staff/users/%d", annUser.ID)

	expect(t, "no choice", boss.post(page+"/inviting", url.Values{"reason": {"x"}}), http.StatusUnprocessableEntity, "Choose whether inviting is on or off.")
	expect(t, "no reason", boss.post(page+"/inviting", url.Values{"inviting": {"off"}}), http.StatusUnprocessableEntity, "Give a reason")
	if res := boss.post(page+"/inviting", url.Values{"inviting": {"off"}, "reason": {"Too many bounces"}}); res.status != http.StatusSeeOther {
		t.Fatalf("inviting off: %d", res.status)
	}
	const sentence = "Inviting is turned off for your account: Too many bounces"
	res := ann.get("/")
	expect(t, "panel", res, http.StatusOK, sentence, `data-testid="invite-closed"`)
	if strings.Contains(res.body, `id="invite-email"`) {
		t.Error("the panel still shows the invite form")
	}
	expect(t, "POST", ann.post("/invitations", invite("two@example.com", "")), http.StatusForbidden, sentence)
	expect(t, "POST htmx", ann.post("/invitations", invite("two@example.com", ""), htmx...), http.StatusForbidden, sentence, `id="invite-form"`)
	status, body, _ := app.apiCall(t, "POST", "/api/v1/invite/", token, map[string]any{"email": "two@example.com"})
	if status != http.StatusForbidden || errCode(body) != "inviting_disabled" {
		t.Errorf("API invite: %d %v; want 403 inviting_disabled", status, body)
	}
	expect(t, "pending link still works", app.client().get(links[0]), http.StatusOK)
	expect(t, "staff page", boss.get(page), http.StatusOK, `data-testid="standing-inviting-off"`, "Too many bounces")

	if res := boss.post(page+"/inviting", url.Values{"inviting": {"on"}}); res.status != http.StatusSeeOther {
		t.Fatalf("inviting on: %d", res.status)
	}
	expect(t, "panel again", ann.get("/"), http.StatusOK, `id="invite-email"`)
	if res := ann.post("/invitations", invite("two@example.com", "")); res.status != http.StatusSeeOther {
		t.Errorf("invite after on again: %d", res.status)
	}
	expect(t, "audit", boss.get("/staff/audit"), http.StatusOK, "Turned inviting off for @ann", "Too many bounces", "Turned inviting on for @ann")
}

func TestModerationAPI(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	_, bossUser := app.staffMember("boss@example.com", "boss")
	bossToken, _, _ := app.store.APITokens.Create(ctx, bossUser.ID, "ops")
	ann, annUser := app.member("ann@example.com", "ann")
	app.sendInvitations(ann, "one@example.com")
	annToken, _, _ := app.store.APITokens.Create(ctx, annUser.ID, "script")
	base := fmt.Sprintf("/api/v1/staff/users/%d", annUser.ID)

	if status, body, _ := app.apiCall(t, "POST", base+"/suspend", annToken, map[string]any{"reason": "x"}); status != http.StatusForbidden || errCode(body) != "forbidden" {
		t.Errorf("a member suspending: %d %v", status, body)
	}
	for _, bad := range []any{map[string]any{}, map[string]any{"reason": ""}, map[string]any{"reason": strings.Repeat("x", 501)}} {
		if status, body, _ := app.apiCall(t, "POST", base+"/suspend", bossToken, bad); status != http.StatusUnprocessableEntity || fieldMsg(body, "reason") == "" {
			t.Errorf("suspend %v: %d %v", bad, status, body)
		}
	}
	if status, body, _ := app.apiCall(t, "POST", base+"/suspend", bossToken, map[string]any{"reason": "x", "extra": 1}); status != http.StatusBadRequest {
		t.Errorf("unknown field: %d %v", status, body)
	}
	if status, body, _ := app.apiCall(t, "POST", "/api/v1/staff/users/999/suspend", bossToken, map[string]any{"reason": "x"}); status != http.StatusNotFound {
		t.Errorf("unknown user: %d %v", status, body)
	}
	if status, body, _ := app.apiCall(t, "POST", fmt.Sprintf("/api/v1/staff/users/%d/suspend", bossUser.ID), bossToken, map[string]any{"reason": "x"}); status != http.StatusUnprocessableEntity || errCode(body) != "self_moderation" {
		t.Errorf("self suspension: %d %v", status, body)
	}
	status, body, _ := app.apiCall(t, "POST", base+"/suspend", bossToken, map[string]any{"reason": "Spam"})
	st, _ := body["standing"].(map[string]any)
	if status != http.StatusOK || body["users_changed"] != 1.0 || body["invitations_revoked"] != 1.0 || body["tokens_revoked"] != 1.0 ||
		st["suspended"] != true || st["suspended_reason"] != "Spam" {
		t.Errorf("suspend: %d %v", status, body)
	}
	if status, _, _ := app.apiCall(t, "POST", "/api/v1/invite/", annToken, map[string]any{"email": "x@example.com"}); status != http.StatusUnauthorized {
		t.Errorf("the suspended member's token: %d", status)
	}
	status, body, _ = app.apiCall(t, "POST", base+"/unsuspend", bossToken, nil)
	if st, _ := body["standing"].(map[string]any); status != http.StatusOK || body["users_changed"] != 1.0 || st["suspended"] != false {
		t.Errorf("unsuspend: %d %v", status, body)
	}

	if status, body, _ := app.apiCall(t, "POST", base+"/inviting", bossToken, map[string]any{"reason": "x"}); status != http.StatusUnprocessableEntity || fieldMsg(body, "inviting") == "" {
		t.Errorf("inviting without the switch: %d %v", status, body)
	}
	if status, body, _ := app.apiCall(t, "POST", base+"/inviting", bossToken, map[string]any{"inviting": false}); status != http.StatusUnprocessableEntity || fieldMsg(body, "reason") == "" {
		t.Errorf("inviting off without a reason: %d %v", status, body)
	}
	status, body, _ = app.apiCall(t, "POST", base+"/inviting", bossToken, map[string]any{"inviting": false, "reason": "Bounces"})
	if st, _ := body["standing"].(map[string]any); status != http.StatusOK || st["inviting"] != false || st["inviting_reason"] != "Bounces" {
		t.Errorf("inviting off: %d %v", status, body)
	}
	status, body, _ = app.apiCall(t, "POST", base+"/inviting", bossToken, map[string]any{"inviting": true})
	if st, _ := body["standing"].(map[string]any); status != http.StatusOK || st["inviting"] != true {
		t.Errorf("inviting on: %d %v", status, body)
	}
}

// buildTree makes root → a1, a2; a1 → b1; b1 → c1 (four levels) and an
// outsider, each but a2 with a pending invitation, through the store.
func buildTree(t *testing.T, app *testApp) map[string]models.User {
	t.Helper()
	ctx := context.Background()
	users := map[string]models.User{}
	parent := map[string]string{"a1": "root", "a2": "root", "b1": "a1", "c1": "b1"}
	for _, name := range []string{"root", "a1", "a2", "b1", "c1", "out"} {
		u := app.user(name+"@example.com", name, true)
		if p, ok := parent[name]; ok {
			if _, err := app.store.DB.Exec(`UPDATE users SET invited_by = ? WHERE id = ?`, users[p].ID, u.ID); err != nil {
				t.Fatal(err)
			}
		}
		users[name] = u
		if name != "a2" {
			if _, _, err := app.store.Invitations.Create(ctx, u.ID, "friend-of-"+name+"@example.com", "", 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	return users
}

func TestSubtreeActionsThroughThePages(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	boss, _ := app.staffMember("boss@example.com", "boss")
	u := buildTree(t, app)
	page := fmt.Sprintf("/staff/users/%d", u["root"].ID)
	expect(t, "root's page", boss.get(page), http.StatusOK, `data-testid="stat-members">4<`, `data-testid="stat-levels">3<`,
		`data-testid="stat-suspended">0<`, fmt.Sprintf(`href="/staff/users/%d"`, u["a1"].ID), "joined on their own")
	expect(t, "a1's page", boss.get(fmt.Sprintf("/staff/users/%d", u["a1"].ID)), http.StatusOK, `data-testid="invited-by"`)
	expect(t, "unknown action", boss.get(page+"/subtree?action=delete"), http.StatusNotFound)
	expect(t, "unknown member", boss.get("/staff/users/999/subtree?action=revoke"), http.StatusNotFound)

	// Revoke: the preview's counts are what the action then changes.
	expect(t, "revoke preview", boss.get(page+"/subtree?action=revoke"), http.StatusOK,
		`data-testid="stat-inviters">4<`, `data-testid="stat-invitations to revoke">4<`)
	res := boss.post(page+"/subtree/revoke", url.Values{"reason": {"Clean-up"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%s", res.status, mainPart(res.body))
	}
	expect(t, "after revoke", boss.get(page), http.StatusOK, "Revoked 4 pending invitations from 4 inviters.")
	var outPending int
	app.store.DB.QueryRow(`SELECT count(*) FROM invitations WHERE inviter_id = ? AND status = 'pending'`, u["out"].ID).Scan(&outPending)
	if outPending != 1 {
		t.Errorf("the outsider's invitation was touched: %d pending", outPending)
	}

	// Suspend: a reason is required; then 5 members, none pending any more.
	expect(t, "suspend preview", boss.get(page+"/subtree?action=suspend"), http.StatusOK,
		`data-testid="stat-members to suspend">5<`, `data-testid="stat-invitations to revoke">0<`)
	expect(t, "suspend without a reason", boss.post(page+"/subtree/suspend", url.Values{"reason": {""}}), http.StatusUnprocessableEntity,
		"Give a reason", `data-testid="subtree-preview"`)
	if ok, _ := app.store.Staff.Suspended(ctx, u["root"].ID); ok {
		t.Fatal("a refused form suspended the subtree")
	}
	if res := boss.post(page+"/subtree/suspend", url.Values{"reason": {"Spam ring"}}); res.status != http.StatusSeeOther {
		t.Fatalf("suspend: %d", res.status)
	}
	expect(t, "after suspend", boss.get(page), http.StatusOK, "Suspended 5 members and revoked 0 pending invitations.",
		`data-testid="standing-suspended"`, `data-testid="stat-suspended">4<`, "Suspended @root and their subtree: 5 members, 0 pending invitations revoked")
	for _, name := range []string{"root", "a1", "a2", "b1", "c1"} {
		if ok, _ := app.store.Staff.Suspended(ctx, u[name].ID); !ok {
			t.Errorf("@%s is not suspended", name)
		}
	}
	if ok, _ := app.store.Staff.Suspended(ctx, u["out"].ID); ok {
		t.Error("the outsider was suspended")
	}
	expect(t, "audit", boss.get("/staff/audit"), http.StatusOK, "Spam ring", "Clean-up", "Revoked 4 pending invitations sent by @root and their subtree")
	expect(t, "c1's history", boss.get(fmt.Sprintf("/staff/users/%d", u["c1"].ID)), http.StatusOK, "Suspended @root and their subtree", "Spam ring")
}

func TestModerationRoutesAreStaffOnly(t *testing.T) {
	app := newTestApp(t)
	clients := staffClients(t, app)
	target := app.user("target@example.com", "target", true)
	page := fmt.Sprintf("/staff/users/%d", target.ID)
	for _, rt := range []struct {
		method, path string
		form         url.Values
		ok           int
	}{
		{"GET", page, nil, 200},
		{"GET", page + "/subtree?action=revoke", nil, 200},
		{"POST", page + "/subtree/revoke", url.Values{}, 303},
		{"POST", page + "/inviting", url.Values{"inviting": {"on"}}, 303},
		{"POST", page + "/unsuspend", url.Values{}, 303},
	} {
		for who, c := range clients {
			var res response
			if rt.method == "GET" {
				res = c.get(rt.path)
			} else {
				res = c.post(rt.path, rt.form)
			}
			want := rt.ok
			switch who {
			case "anonymous":
				want = http.StatusSeeOther
			case "member":
				want = http.StatusForbidden
			}
			if res.status != want {
				t.Errorf("%s %s as %s: %d; want %d", rt.method, rt.path, who, res.status, want)
			}
		}
	}
	expect(t, "users list links the page", clients["superuser"].get("/staff/users"), http.StatusOK, `href="`+page+`"`)
	expect(t, "not a number", clients["superuser"].get("/staff/users/abc"), http.StatusNotFound)
	expect(t, "no such user", clients["superuser"].get("/staff/users/999"), http.StatusNotFound)
}
