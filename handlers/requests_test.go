package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/models"
)

func ask(email, reason string) url.Values { return url.Values{"email": {email}, "reason": {reason}} }

// askAndConfirm asks for an invitation for email and confirms it through
// its email's link; it returns the request's id.
func (a *testApp) askAndConfirm(email, reason string) int64 {
	a.t.Helper()
	c := a.client()
	expect(a.t, "ask", c.post("/request", ask(email, reason)), http.StatusOK, "We sent a link")
	link := linkIn(a.t, a.lastMailTo(email), "/request/confirm/")
	expect(a.t, "confirm", c.post(link, nil), http.StatusOK, "Request sent")
	q, _, err := a.store.Requests.Queue(context.Background(), 100)
	if err != nil {
		a.t.Fatal(err)
	}
	for _, req := range q {
		if req.Email == email {
			return req.ID
		}
	}
	a.t.Fatalf("%s is not in the queue after confirming", email)
	return 0
}

func countEvents(t *testing.T, app *testApp, kind string) int {
	t.Helper()
	var n int
	if err := app.store.DB.QueryRow(`SELECT count(*) FROM events WHERE kind = ?`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A request reaches the staff queue only once its email's link is
// confirmed with a POST; the link's GET shows a button and changes nothing.
func TestRequestNeedsConfirmation(t *testing.T) {
	app := newTestApp(t)
	staff, _ := app.staffMember("staff@example.com", "staff")
	visitor := app.client()
	expect(t, "form", visitor.get("/request"), http.StatusOK, `name="email"`, `name="reason"`)
	expect(t, "ask", visitor.post("/request", ask("Kim@Example.com", "I met Ann at the meetup.")), http.StatusOK,
		"We sent a link to <strong>Kim@Example.com</strong>")
	expect(t, "unconfirmed queue", staff.get("/staff/requests"), http.StatusOK, "No one is waiting")
	if strings.Contains(staff.get("/staff/requests").body, "Kim@Example.com") {
		t.Error("an unconfirmed request is in the queue")
	}

	msg := app.lastMailTo("Kim@Example.com")
	link := linkIn(t, msg, "/request/confirm/")
	expect(t, "confirm GET", visitor.get(link), http.StatusOK, "Confirm my request")
	expect(t, "queue after GET", staff.get("/staff/requests"), http.StatusOK, "No one is waiting")
	if n := countEvents(t, app, models.EventInviteRequested); n != 0 {
		t.Errorf("%d invite_requested events before confirming; want 0", n)
	}

	expect(t, "confirm POST", visitor.post(link, nil), http.StatusOK, "Request sent")
	expect(t, "queue", staff.get("/staff/requests"), http.StatusOK, "Kim@Example.com", "I met Ann at the meetup.", "1 request waits",
		`aria-label="Approve and invite Kim@Example.com"`, `aria-label="Decline the request from Kim@Example.com"`)
	if n := countEvents(t, app, models.EventInviteRequested); n != 1 {
		t.Errorf("%d invite_requested events after confirming; want 1", n)
	}
	expect(t, "link used twice", visitor.post(link, nil), http.StatusGone, "already used")
	expect(t, "unknown link", visitor.get("/request/confirm/"+strings.Repeat("A", 43)), http.StatusNotFound)
	if strings.Contains(app.logs.String(), strings.TrimPrefix(link, "/request/confirm/")) {
		t.Error("the confirmation token is in the log")
	}

	// The link dies with its 3 days.
	expect(t, "ask again", visitor.post("/request", ask("late@example.com", "")), http.StatusOK)
	late := linkIn(t, app.lastMailTo("late@example.com"), "/request/confirm/")
	app.clock.Advance(73 * 60 * 60 * 1e9)
	expect(t, "expired link", visitor.post(late, nil), http.StatusGone, "expired")
}

// One open request per address; an address that is a member gets the
// answer a stranger gets, and no email.
func TestRequestOnePerAddress(t *testing.T) {
	app := newTestApp(t)
	app.user("member@example.com", "member", true)
	c := app.client()
	expect(t, "first", c.post("/request", ask("kim@example.com", "")), http.StatusOK, "We sent a link")
	expect(t, "again", c.post("/request", ask("KIM@example.com ", "please")), http.StatusUnprocessableEntity,
		"You have already asked; we will email you.")

	stranger := c.post("/request", ask("member@example.com", ""))
	expect(t, "a member's address", stranger, http.StatusOK, "We sent a link to <strong>member@example.com</strong>")
	for _, m := range app.deliver() {
		if m.To == "member@example.com" {
			t.Errorf("a request for a member's address was emailed: %q", m.Subject)
		}
	}
	expect(t, "a member's address again", c.post("/request", ask("member@example.com", "")), http.StatusUnprocessableEntity,
		"You have already asked; we will email you.")

	// A blocked domain is refused for requests as for invitations.
	if err := app.store.Settings.Save(context.Background(), 0, models.SiteSettings{BlockedDomains: []string{"blocked.example"}}); err != nil {
		t.Fatal(err)
	}
	expect(t, "blocked domain", c.post("/request", ask("kim@x.blocked.example", "")), http.StatusUnprocessableEntity,
		"Invitations to blocked.example addresses are not allowed.")

	// Bad input is 422 next to its field.
	expect(t, "no address", c.post("/request", ask("", "")), http.StatusUnprocessableEntity, "Enter an email address.")
	expect(t, "long reason", c.post("/request", ask("lee@example.com", strings.Repeat("x", 501))), http.StatusUnprocessableEntity, "Keep the reason to 500 characters.")
	expect(t, "hidden characters", c.post("/request", ask("lee@example.com", "hi\u202Ethere")), http.StatusUnprocessableEntity, "invisible or control characters")

	// Signed in, or in open mode, /request is not for you.
	member := app.client()
	member.login("member", testPassword)
	if res := member.get("/request"); res.status != http.StatusSeeOther {
		t.Errorf("signed in: status %d; want 303", res.status)
	}
	open := newTestApp(t, withOpenSignup())
	for _, res := range []response{open.client().get("/request"), open.client().post("/request", ask("kim@example.com", ""))} {
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/signup" {
			t.Errorf("open mode: status %d to %q; want 303 to /signup", res.status, res.header.Get("Location"))
		}
	}
}

// Approving sends an invitation from the staff member, taken from nobody's
// allocation: theirs does not change when it is sent or when it is used,
// even with none left.
func TestRequestApproveInvitesFromNobodysAllocation(t *testing.T) {
	app := newTestApp(t, withAllocation(0))
	staff, su := app.staffMember("staff@example.com", "staff")
	before := allocations(t, app)
	id := app.askAndConfirm("kim@example.com", "I know Ann")

	res := staff.post("/staff/requests/"+itoa(id)+"/approve", nil, htmx...)
	expect(t, "approve", res, http.StatusOK, "Approved: an invitation is on its way to kim@example.com.")
	msg := app.lastMailTo("kim@example.com")
	if !strings.Contains(msg.Subject, "staff invited you to join Beckon") {
		t.Errorf("subject %q; want the staff member's invitation", msg.Subject)
	}
	link := linkIn(t, msg, "/join/")
	kim := app.client()
	join := kim.post(link, url.Values{"email": {"kim@example.com"}, "username": {"kim"}, "password": {testPassword}})
	if join.status != http.StatusSeeOther {
		t.Fatalf("join: status %d\n%s", join.status, mainPart(join.body))
	}
	after := allocations(t, app)
	for name, a := range before {
		if after[name] != a {
			t.Errorf("%s's allocation went from %+v to %+v", name, a, after[name])
		}
	}
	if a, _ := app.store.Users.Allocation(context.Background(), su.ID); a.Held != 0 || a.Accepted != 0 {
		t.Errorf("staff allocation %+v; want nothing held or accepted", a)
	}
	if n := countEvents(t, app, models.EventRequestApproved); n != 1 {
		t.Errorf("%d request_approved events; want 1", n)
	}
	expect(t, "queue after", staff.get("/staff/requests"), http.StatusOK, "No one is waiting")
	expect(t, "approve again", staff.post("/staff/requests/"+itoa(id)+"/approve", nil), http.StatusConflict, "already approved or declined")
	expect(t, "unknown request", staff.post("/staff/requests/999/approve", nil), http.StatusNotFound)

	// A request whose address became a member meanwhile is refused with
	// the single form's message, on its row.
	id2 := app.askAndConfirm("lee@example.com", "")
	app.user("lee@example.com", "lee", true)
	expect(t, "approve a member", staff.post("/staff/requests/"+itoa(id2)+"/approve", nil, htmx...), http.StatusUnprocessableEntity,
		"lee@example.com is already a member.")

	// Members may not answer requests.
	member, _ := app.member("ann@example.com", "ann")
	expect(t, "member", member.post("/staff/requests/"+itoa(id2)+"/approve", nil), http.StatusForbidden)
}

// Declining emails the requester the reason.
func TestRequestDeclineEmailsReason(t *testing.T) {
	app := newTestApp(t)
	staff, _ := app.staffMember("staff@example.com", "staff")
	id := app.askAndConfirm("kim@example.com", "")
	expect(t, "reason too long", staff.post("/staff/requests/"+itoa(id)+"/decline", url.Values{"reason": {strings.Repeat("x", 501)}}, htmx...),
		http.StatusUnprocessableEntity, "Keep the reason to 500 characters.")
	res := staff.post("/staff/requests/"+itoa(id)+"/decline", url.Values{"reason": {"We are full until spring."}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("decline: status %d\n%s", res.status, mainPart(res.body))
	}
	expect(t, "flash", staff.get("/staff/requests"), http.StatusOK, "Declined: we emailed kim@example.com your reason.", "No one is waiting")
	msg := app.lastMailTo("kim@example.com")
	if !strings.Contains(msg.Text, "We are full until spring.") || !strings.Contains(msg.HTML, "We are full until spring.") {
		t.Errorf("decline email lacks the reason: %q", msg.Text)
	}
	if n := countEvents(t, app, models.EventRequestDeclined); n != 1 {
		t.Errorf("%d request_declined events; want 1", n)
	}
	var invs int
	app.store.DB.QueryRow(`SELECT count(*) FROM invitations`).Scan(&invs)
	if invs != 0 {
		t.Errorf("%d invitations after a decline; want 0", invs)
	}
	// Asking again after a decline is allowed: the request is answered.
	expect(t, "ask again", app.client().post("/request", ask("kim@example.com", "")), http.StatusOK)
}

// BECKON_JOIN_RATE counts requests too.
func TestRequestJoinRate(t *testing.T) {
	app := newTestApp(t, withConfig(func(c *handlers.Config) { c.JoinRate = 3 }))
	c := app.client()
	for i := range 3 {
		expect(t, "request "+itoa(int64(i+1)), c.post("/request", ask("x"+itoa(int64(i))+"@example.com", "")), http.StatusOK)
	}
	res := c.post("/request", ask("y@example.com", ""))
	expect(t, "4th request", res, http.StatusTooManyRequests, "Too many sign-up attempts from your network.")
	if res.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
