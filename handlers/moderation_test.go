package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/models"
)

// Section 11's second half: site switches, opting out, declining, age to
// invite, expire-all.

func withMinAge(d time.Duration) appOption {
	return func(o *models.Options, _ *handlers.Config) { o.InviteMinAge = d }
}

// staffMember signs in a new verified staff member.
func (a *testApp) staffMember(email, username string) (*client, models.User) {
	a.t.Helper()
	u, err := a.store.Users.Create(context.Background(), models.NewUser{Email: email, Username: username, Password: testPassword, Staff: true, Verified: true})
	if err != nil {
		a.t.Fatal(err)
	}
	c := a.client()
	c.login(username, testPassword)
	return c, u
}

func settingsForm(paused bool, domains ...string) url.Values {
	f := url.Values{"blocked_domains": {strings.Join(domains, "\r\n")}}
	if paused {
		f.Set("joining_paused", "on")
	}
	return f
}

func statusOf(t *testing.T, app *testApp, id int64) string {
	t.Helper()
	inv, err := app.store.Invitations.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inv.Status
}

const pausedSentence = "Joining Beckon is paused for now; your invitation will work again when it reopens."

func TestJoiningPausedKeepsLinksPending(t *testing.T) {
	app := newTestApp(t)
	staff, _ := app.staffMember("staff@example.com", "staff")
	ann, annUser := app.member("ann@example.com", "ann")
	ann.post("/invitations", invite("bob@example.com", ""))
	ann.post("/invitations", invite("cat@example.com", ""))
	bobLink := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	catLink := linkIn(t, app.lastMailTo("cat@example.com"), "/join/")
	bobInv := latestInvitation(t, app, annUser.ID)

	expect(t, "a member may not change the switches", ann.post("/staff/settings", settingsForm(true)), http.StatusForbidden)
	expect(t, "pause", staff.post("/staff/settings", settingsForm(true)), http.StatusSeeOther)
	expect(t, "settings page", staff.get("/staff/settings"), http.StatusOK, `name="joining_paused" value="on" checked`, "joining is paused")

	bob := app.client()
	join := url.Values{"email": {"bob@example.com"}, "username": {"bob"}, "password": {testPassword}}
	expect(t, "GET while paused", bob.get(bobLink), http.StatusForbidden, pausedSentence)
	expect(t, "POST while paused", bob.post(bobLink, join), http.StatusForbidden, pausedSentence)
	status, body, _ := app.apiCall(t, http.MethodPost, "/api/v1/invite/"+strings.TrimPrefix(catLink, "/join/"), "", map[string]any{"password": testPassword})
	if status != http.StatusForbidden || errCode(body) != "joining_paused" || !strings.Contains(fmt.Sprint(body), pausedSentence) {
		t.Errorf("API join while paused: %d %v", status, body)
	}
	if s := statusOf(t, app, bobInv.ID); s != models.StatusPending {
		t.Errorf("invitation %s while paused; want pending", s)
	}
	if _, err := app.store.Users.GetByUsername(context.Background(), "bob"); err == nil {
		t.Error("an account was made while joining was paused")
	}

	expect(t, "reopen", staff.post("/staff/settings", settingsForm(false)), http.StatusSeeOther)
	expect(t, "GET after reopening", bob.get(bobLink), http.StatusOK, "ann invited you")
	expect(t, "join after reopening", bob.post(bobLink, join), http.StatusSeeOther)
	expect(t, "audit log", staff.get("/staff/audit"), http.StatusOK, "Paused joining", "Reopened joining")
}

func TestBlockedDomains(t *testing.T) {
	app := newTestApp(t, withOpenSignup())
	staff, staffUser := app.staffMember("staff@example.com", "staff")
	ann, _ := app.member("ann@example.com", "ann")

	res := staff.post("/staff/settings", settingsForm(false, "spam.test", "not a domain"))
	expect(t, "a line that is not a domain", res, http.StatusUnprocessableEntity, `Line 2 is not a domain: &#34;not a domain&#34;.`, `aria-invalid="true"`)
	expect(t, "save", staff.post("/staff/settings", settingsForm(false, "Spam.Test", "", "example.org")), http.StatusSeeOther)
	expect(t, "saved list", staff.get("/staff/settings"), http.StatusOK, "example.org\nspam.test</textarea>")

	expect(t, "invite at a blocked domain", ann.post("/invitations", invite("x@spam.test", "")), http.StatusUnprocessableEntity,
		"Invitations to spam.test addresses are not allowed.")
	expect(t, "invite under a blocked domain (htmx)", ann.post("/invitations", invite("x@mail.Spam.test", ""), htmx...), http.StatusUnprocessableEntity,
		"Invitations to spam.test addresses are not allowed.")
	expect(t, "a look-alike domain is not under it", ann.post("/invitations", invite("x@notspam.test", "")), http.StatusSeeOther)

	status, body, _ := app.apiCall(t, http.MethodPost, "/api/v1/invite/", app.tokenFor(t, staffUser), map[string]any{"email": "y@a.example.org"})
	if status != http.StatusUnprocessableEntity || errCode(body) != "domain_blocked" || fieldMsg(body, "email") != "Invitations to example.org addresses are not allowed." {
		t.Errorf("API invite under a blocked domain: %d %v", status, body)
	}
	signup := url.Values{"email": {"eve@sub.spam.test"}, "username": {"eve"}, "password": {testPassword}}
	expect(t, "open signup at a blocked domain", app.client().post("/signup", signup), http.StatusUnprocessableEntity,
		"Invitations to spam.test addresses are not allowed.")
	signup.Set("email", "eve@example.com")
	expect(t, "open signup elsewhere", app.client().post("/signup", signup), http.StatusSeeOther)
	expect(t, "audit log", staff.get("/staff/audit"), http.StatusOK, "Set the blocked domains: 2 domains")

	// Joining through a link with a changed address follows the list too.
	link := linkIn(t, app.lastMailTo("x@notspam.test"), "/join/")
	changed := url.Values{"email": {"x@spam.test"}, "username": {"xavier"}, "password": {testPassword}}
	expect(t, "join with a changed address at a blocked domain", app.client().post(link, changed), http.StatusUnprocessableEntity,
		"Invitations to spam.test addresses are not allowed.")
	changed.Set("email", "x@notspam.test")
	expect(t, "join with the invited address", app.client().post(link, changed), http.StatusSeeOther)
}

func TestOptOut(t *testing.T) {
	app := newTestApp(t)
	ann, annUser := app.member("ann@example.com", "ann")
	cy, cyUser := app.member("cy@example.com", "cy")
	ann.post("/invitations", invite("Bea@example.com", ""))
	cy.post("/invitations", invite("bea@example.com", ""))
	msg := app.lastMailTo("bea@example.com")
	optOut := linkIn(t, msg, "/optout/")
	joinLink := linkIn(t, msg, "/join/")
	if strings.TrimPrefix(optOut, "/optout/") != strings.TrimPrefix(joinLink, "/join/") {
		t.Errorf("opt-out link %s does not carry the join link's token %s", optOut, joinLink)
	}
	if !strings.Contains(msg.HTML, app.srv.URL+optOut) {
		t.Errorf("HTML lacks the opt-out link:\n%s", msg.HTML)
	}
	annInv, cyInv := latestInvitation(t, app, annUser.ID), latestInvitation(t, app, cyUser.ID)

	bea := app.client()
	expect(t, "unknown opt-out link", bea.get("/optout/"+strings.Repeat("A", 43)), http.StatusNotFound)
	expect(t, "opt-out page", bea.get(optOut), http.StatusOK, "Stop invitations to bea@example.com?", `data-testid="optout-submit"`)
	if s := statusOf(t, app, cyInv.ID); s != models.StatusPending {
		t.Fatalf("GET changed the invitation to %s", s)
	}
	before, _ := app.store.Users.Allocation(context.Background(), annUser.ID)
	expect(t, "opt out", bea.post(optOut, nil), http.StatusOK, "You will get no more invitations", "2 invitations waiting for it were withdrawn.")
	for _, id := range []int64{annInv.ID, cyInv.ID} {
		if s := statusOf(t, app, id); s != models.StatusRevoked {
			t.Errorf("invitation %d is %s after the opt-out; want revoked", id, s)
		}
	}
	after, _ := app.store.Users.Allocation(context.Background(), annUser.ID)
	if after.Remaining() != before.Remaining()+1 {
		t.Errorf("the opt-out did not give ann's invitation back: %d then %d", before.Remaining(), after.Remaining())
	}
	expect(t, "the join link after the opt-out", bea.get(joinLink), http.StatusGone, "withdrew this invitation")
	expect(t, "opting out again still works", bea.post(optOut, nil), http.StatusOK)

	expect(t, "invite an opted-out address", ann.post("/invitations", invite("BEA@example.com", "")), http.StatusUnprocessableEntity,
		"BEA@example.com has asked not to receive invitations.")
	status, body, _ := app.apiCall(t, http.MethodPost, "/api/v1/invite/", app.tokenFor(t, cyUser), map[string]any{"email": "bea@example.com"})
	if status != http.StatusUnprocessableEntity || errCode(body) != "opted_out" || fieldMsg(body, "email") != "bea@example.com has asked not to receive invitations." {
		t.Errorf("API invite to an opted-out address: %d %v", status, body)
	}
	var events int
	app.store.DB.QueryRow(`SELECT count(*) FROM events WHERE kind = 'invitation_revoked'`).Scan(&events)
	if events != 2 {
		t.Errorf("%d invitation_revoked events; want 2", events)
	}
}

func TestDecline(t *testing.T) {
	app := newTestApp(t)
	staff, _ := app.staffMember("staff@example.com", "staff")
	ann, annUser := app.member("ann@example.com", "ann")
	ann.post("/invitations", invite("bob@example.com", ""))
	link := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	inv := latestInvitation(t, app, annUser.ID)
	before, _ := app.store.Users.Allocation(context.Background(), annUser.ID)

	bob := app.client()
	expect(t, "join page", bob.get(link), http.StatusOK, `action="`+link+`/decline"`, "No thanks")
	expect(t, "decline", bob.post(link+"/decline", nil), http.StatusOK, "Invitation declined", `href="/optout/`)
	if s := statusOf(t, app, inv.ID); s != models.StatusDeclined {
		t.Errorf("status %s; want declined", s)
	}
	after, _ := app.store.Users.Allocation(context.Background(), annUser.ID)
	if after.Remaining() != before.Remaining()+1 {
		t.Errorf("the decline did not give the invitation back: %d then %d", before.Remaining(), after.Remaining())
	}
	expect(t, "the link after", bob.get(link), http.StatusGone, "This invitation was declined.")
	expect(t, "joining after", bob.post(link, url.Values{"email": {"bob@example.com"}, "username": {"bob"}, "password": {testPassword}}),
		http.StatusGone, "This invitation was declined.")
	expect(t, "declining twice", bob.post(link+"/decline", nil), http.StatusGone, "This invitation was declined.")
	status, body, _ := app.apiCall(t, http.MethodPost, "/api/v1/invite/"+strings.TrimPrefix(link, "/join/"), "", map[string]any{"password": testPassword})
	if status != http.StatusGone || !strings.Contains(fmt.Sprint(body), "This invitation was declined.") {
		t.Errorf("API join of a declined invitation: %d %v", status, body)
	}
	expect(t, "sent list", ann.get("/invitations"), http.StatusOK, `data-status="declined"`, ">declined</span>")
	expect(t, "sent list filter", ann.get("/invitations?status=declined"), http.StatusOK, "bob@example.com")
	expect(t, "dashboard", staff.get("/staff"), http.StatusOK, `data-testid="stat-declined">1<`, `data-testid="stat-pending">0<`)
	var events int
	app.store.DB.QueryRow(`SELECT count(*) FROM events WHERE kind = 'invite_declined' AND subject_id = ?`, inv.ID).Scan(&events)
	if events != 1 {
		t.Errorf("%d invite_declined events; want 1", events)
	}
	expect(t, "unknown link", bob.post("/join/"+strings.Repeat("B", 43)+"/decline", nil), http.StatusNotFound)
}

func TestAgeToInvite(t *testing.T) {
	app := newTestApp(t, withMinAge(72*time.Hour))
	ann, annUser := app.member("ann@example.com", "ann") // joined 2 Nov 2026, 09:00
	staff, _ := app.staffMember("staff@example.com", "staff")
	const sentence = "You can invite friends from 5 Nov 2026."

	res := ann.get("/")
	expect(t, "panel", res, http.StatusOK, sentence)
	if strings.Contains(res.body, `action="/invitations"`) {
		t.Error("the panel shows the invite form to a member too new to invite")
	}
	expect(t, "POST", ann.post("/invitations", invite("bob@example.com", "")), http.StatusForbidden, sentence)
	expect(t, "POST with htmx", ann.post("/invitations", invite("bob@example.com", ""), htmx...), http.StatusForbidden, sentence, `id="invite-form"`)
	status, body, _ := app.apiCall(t, http.MethodPost, "/api/v1/invite/", app.tokenFor(t, annUser), map[string]any{"email": "bob@example.com"})
	if status != http.StatusForbidden || errCode(body) != "too_new" || !strings.Contains(fmt.Sprint(body), sentence) {
		t.Errorf("API invite too soon: %d %v", status, body)
	}
	expect(t, "staff are exempt", staff.post("/invitations", invite("cat@example.com", "")), http.StatusSeeOther)

	app.clock.Advance(72 * time.Hour)
	expect(t, "panel after the wait", ann.get("/"), http.StatusOK, `action="/invitations"`)
	expect(t, "POST after the wait", ann.post("/invitations", invite("bob@example.com", "")), http.StatusSeeOther)
}

func TestExpireAll(t *testing.T) {
	app := newTestApp(t)
	staff, _ := app.staffMember("staff@example.com", "staff")
	ann, annUser := app.member("ann@example.com", "ann")
	bea, _ := app.member("bea@example.com", "bea")
	ann.post("/invitations", invite("x1@example.com", ""))
	ann.post("/invitations", invite("x2@example.com", ""))
	bea.post("/invitations", invite("x3@example.com", ""))
	link := linkIn(t, app.lastMailTo("x1@example.com"), "/join/")
	app.clock.Advance(24 * time.Hour)

	expect(t, "a member may not", ann.post("/staff/invitations/expire-all", nil), http.StatusForbidden)
	expect(t, "confirmation without JavaScript", staff.get("/staff/invitations/expire-all"), http.StatusOK,
		"Expire all 3 pending invitations now", `action="/staff/invitations/expire-all"`)
	expect(t, "settings page form", staff.get("/staff/settings"), http.StatusOK, `hx-post="/staff/invitations/expire-all"`, `hx-confirm="Expire all 3 pending invitations`)
	if stats, _ := app.store.Staff.Stats(context.Background()); stats.Pending != 3 {
		t.Fatalf("the confirmation changed something: %d pending", stats.Pending)
	}
	expect(t, "expire all", staff.post("/staff/invitations/expire-all", nil), http.StatusSeeOther)
	expect(t, "flash", staff.get("/staff/settings"), http.StatusOK, "Expired 3 pending invitations; each was given back to its sender.")
	stats, _ := app.store.Staff.Stats(context.Background())
	if stats.Pending != 0 || stats.Expired != 3 {
		t.Errorf("after: %d pending, %d expired; want 0 and 3", stats.Pending, stats.Expired)
	}
	if a, _ := app.store.Users.Allocation(context.Background(), annUser.ID); a.Held != 0 {
		t.Errorf("ann still holds %d", a.Held)
	}
	expect(t, "the link after", app.client().get(link), http.StatusGone, "This invitation expired on 3 Nov 2026.")
	expect(t, "again, with htmx", staff.post("/staff/invitations/expire-all", nil, htmx...), http.StatusOK,
		`id="expire-all"`, "Expired 0 pending invitations", `id="nav-invites-remaining"`)
	expect(t, "audit log", staff.get("/staff/audit"), http.StatusOK, "Expired every pending invitation: 3 invitations")
}

func TestEarnedInvitationsInTheAuditLog(t *testing.T) {
	app := newTestApp(t, func(o *models.Options, _ *handlers.Config) { o.EarnAfter = 24 * time.Hour; o.EarnAmount = 2 })
	staff, _ := app.staffMember("staff@example.com", "staff")
	ann, annUser := app.member("ann@example.com", "ann")
	ann.post("/invitations", invite("bob@example.com", ""))
	link := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	expect(t, "join", app.client().post(link, url.Values{"email": {"bob@example.com"}, "username": {"bob"}, "password": {testPassword}}), http.StatusSeeOther)
	before, _ := app.store.Users.Allocation(context.Background(), annUser.ID)
	app.clock.Advance(24 * time.Hour)
	if got, err := app.store.Invitations.EarnDue(context.Background()); err != nil || got.Invitees != 1 {
		t.Fatalf("sweep: %+v, %v", got, err)
	}
	after, _ := app.store.Users.Allocation(context.Background(), annUser.ID)
	if after.Allocated != before.Allocated+2 {
		t.Errorf("allocated %d then %d; want 2 more", before.Allocated, after.Allocated)
	}
	expect(t, "audit log", staff.get("/staff/audit"), http.StatusOK, "@ann earned 2 through invitees in good standing", "the sweep")
}
