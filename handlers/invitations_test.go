package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
)

// member signs in a new verified member and returns their client.
func (a *testApp) member(email, username string) (*client, models.User) {
	a.t.Helper()
	u := a.user(email, username, true)
	c := a.client()
	c.login(username, testPassword)
	return c, u
}

func invite(email, note string) url.Values { return url.Values{"email": {email}, "note": {note}} }

func TestInvitePanel(t *testing.T) {
	app := newTestApp(t, withAllocation(2))
	c, _ := app.member("ann@example.com", "ann")
	res := c.get("/")
	expect(t, "panel", res, http.StatusOK, `id="invites-remaining"`, `id="nav-invites-remaining"`, `id="invite-form"`, `id="sent-list"`,
		"You have not invited anyone yet.")
	if !strings.Contains(res.body, `data-testid="invites-remaining">2</span>`) {
		t.Errorf("remaining counter is not 2:\n%s", res.body)
	}
}

func TestInviteChecksAndMessages(t *testing.T) {
	app := newTestApp(t, withAllocation(2))
	c, _ := app.member("ann@example.com", "ann")
	app.user("Member@example.com", "member", false)

	for _, tc := range []struct {
		name, email, note string
		status            int
		want              string
	}{
		{"empty", "", "", 422, "Enter an email address."},
		{"invalid", "not an email", "", 422, "Enter a valid email address."},
		{"too long", strings.Repeat("a", 250) + "@x.io", "", 422, "Enter a valid email address."},
		{"display name form", "Bob <bob@example.com>", "", 422, "Enter a valid email address."},
		{"note too long", "bob@example.com", strings.Repeat("n", 501), 422, "Keep the note to 500 characters."},
		{"member, other case", "MEMBER@EXAMPLE.COM", "", 422, "MEMBER@EXAMPLE.COM is already a member."},
	} {
		for _, hx := range []bool{false, true} {
			var headers []string
			if hx {
				headers = htmx
			}
			res := c.post("/invitations", invite(tc.email, tc.note), headers...)
			expect(t, fmt.Sprintf("%s (htmx %v)", tc.name, hx), res, tc.status, tc.want)
			if hx == strings.Contains(res.body, "<html") {
				t.Errorf("%s: htmx %v but whole page %v", tc.name, hx, !hx)
			}
		}
	}

	res := c.post("/invitations", invite(" Bob@Example.com ", "Come along!"), htmx...)
	expect(t, "first invitation (htmx)", res, http.StatusOK, `id="invite-form"`, `hx-swap-oob="true"`, "Bob@Example.com", "Come along!")
	if strings.Contains(res.body, "<html") {
		t.Error("htmx answer is a whole page")
	}
	if !strings.Contains(res.body, `data-testid="invites-remaining" hx-swap-oob="true">1</span>`) {
		t.Errorf("counter after the change is not 1:\n%s", res.body)
	}
	if strings.Contains(res.body, `value="Bob@Example.com"`) {
		t.Error("form not cleared after sending")
	}

	expect(t, "same address, other case", c.post("/invitations", invite("bob@EXAMPLE.com", "")), 422,
		"You have already invited bob@EXAMPLE.com.")

	res = c.post("/invitations", invite("cid@example.com", ""))
	expect(t, "second invitation (no htmx)", res, http.StatusSeeOther)
	expect(t, "flash", c.get("/"), http.StatusOK, "Invitation sent to cid@example.com.", "You have no invitations left.", "comes back to you")

	res = c.post("/invitations", invite("dan@example.com", ""), htmx...)
	expect(t, "none left (htmx)", res, 422, "You have no invitations left.")
	if strings.Contains(res.body, `<form id="invite-form"`) {
		t.Error("at zero left the form is still a form")
	}
}

func TestInviteNeedsVerifiedEmail(t *testing.T) {
	app := newTestApp(t)
	app.user("una@example.com", "una", false)
	c := app.client()
	c.login("una", testPassword)
	expect(t, "unverified panel", c.get("/"), http.StatusOK, "Confirm your email address before sending invitations")
	expect(t, "unverified invite", c.post("/invitations", invite("bob@example.com", "")), http.StatusForbidden)
}

func TestInviteRateLimitAnswers429(t *testing.T) {
	app := newTestApp(t, withAllocation(-1), withRates(2, 0))
	c, _ := app.member("ann@example.com", "ann")
	c.post("/invitations", invite("a@example.com", ""))
	c.post("/invitations", invite("b@example.com", ""))
	res := c.post("/invitations", invite("c@example.com", ""), htmx...)
	expect(t, "third in an hour", res, http.StatusTooManyRequests, "You have sent or tried 2 invitations in the last hour.")
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func TestInvitationEmailAndJoin(t *testing.T) {
	app := newTestApp(t)
	ann, annUser := app.member("ann@example.com", "ann")
	app.store.Users.SetName(context.Background(), annUser.ID, "Ann Smith")
	ann.post("/invitations", invite("Bob@Example.com", "We play chess on Tuesdays."))

	msg := app.lastMailTo("Bob@Example.com")
	if msg.Subject != "Ann Smith invited you to join Beckon" {
		t.Errorf("subject %q", msg.Subject)
	}
	for _, want := range []string{"Ann Smith", "@ann", "We play chess on Tuesdays.", "expires on"} {
		if !strings.Contains(msg.Text, want) || !strings.Contains(msg.HTML, strings.ReplaceAll(want, "@", "@")) {
			t.Errorf("email lacks %q:\n%s", want, msg.Text)
		}
	}
	path := linkIn(t, msg, "/join/")

	bob := app.client()
	res := bob.get(path)
	expect(t, "join page", res, http.StatusOK, "Ann Smith invited you to join Beckon", "We play chess on Tuesdays.", `value="Bob@Example.com"`)
	if res.header.Get("Referrer-Policy") != "no-referrer" || res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("join page headers %v", res.header)
	}
	expect(t, "GET again changes nothing", bob.get(path), http.StatusOK)

	expect(t, "signed-in visitor", ann.get(path), http.StatusOK, "You are already a member")

	expect(t, "join with a weak password", bob.post(path, url.Values{"email": {"Bob@Example.com"}, "username": {"bob"}, "password": {"bob"}}),
		http.StatusUnprocessableEntity, "Use at least 8 characters.")
	expect(t, "join with a taken username", bob.post(path, url.Values{"email": {"Bob@Example.com"}, "username": {"ann"}, "password": {testPassword}}),
		http.StatusUnprocessableEntity, "That username is taken.")
	expect(t, "join", bob.post(path, url.Values{"email": {"bob@example.com"}, "username": {"bob"}, "password": {testPassword}}), http.StatusSeeOther)
	res = bob.get("/")
	expect(t, "new member signed in", res, http.StatusOK, "@bob", "Welcome to Beckon")
	u, _ := app.store.Users.GetByUsername(context.Background(), "bob")
	if !u.Verified() {
		t.Error("kept invited address is not verified")
	}

	expect(t, "used link", app.client().get(path), http.StatusGone, "already been used")
	res = ann.get("/invitations")
	expect(t, "inviter sees acceptance", res, http.StatusOK, `data-status="accepted"`, `href="/u/bob"`)
	expect(t, "profile", ann.get("/u/bob"), http.StatusOK, "Invited by", `href="/u/ann"`)
	expect(t, "inviter's profile", ann.get("/u/ann"), http.StatusOK, "Brought in 1 member", `href="/u/bob"`)
	// The tree shows ann at the top; bob loads on demand, into ann's node.
	expect(t, "tree", ann.get("/tree"), http.StatusOK, `href="/u/ann"`, "invited 1 member")
	expect(t, "ann's node", ann.get(fmt.Sprintf("/tree/%d", u.InvitedBy), htmx...), http.StatusOK, `href="/u/bob"`)
	expect(t, "unknown profile", ann.get("/u/nobody"), http.StatusNotFound)
	assertNoRawTokenInDB(t, app, strings.TrimPrefix(path, "/join/"), "bob@example.com")
}

// assertNoRawTokenInDB searches every column of every table (sessions,
// outbox, events and audit log included) for token, as bytes, so text and
// blobs alike; the same search must find the invited address.
func assertNoRawTokenInDB(t *testing.T, app *testApp, token, invited string) {
	t.Helper()
	if where := columnsHolding(t, app, invited); len(where) == 0 {
		t.Fatalf("the search does not even find %q", invited)
	}
	if where := columnsHolding(t, app, token); len(where) != 0 {
		t.Errorf("the raw token is stored in %v", where)
	}
}

// columnsHolding lists the table.column places whose values contain s.
func columnsHolding(t *testing.T, app *testApp, s string) []string {
	t.Helper()
	db := app.store.DB
	pg := models.EngineOf(db) == models.Postgres
	listing := `SELECT m.name, c.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	if pg {
		listing = `SELECT table_name, column_name || ':' || data_type FROM information_schema.columns WHERE table_schema = 'public'`
	}
	rows, err := db.Query(listing)
	if err != nil {
		t.Fatal(err)
	}
	var cols [][2]string
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, [2]string{table, col})
	}
	rows.Close()
	var where []string
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %q WHERE instr(CAST(%q AS BLOB), CAST(? AS BLOB)) > 0`, c[0], c[1])
		if pg {
			// Each value as its bytes: a bytea's own, any other's text.
			col, typ, _ := strings.Cut(c[1], ":")
			c[1] = col
			value := fmt.Sprintf(`convert_to(%q::text, 'UTF8')`, col)
			if typ == "bytea" {
				value = fmt.Sprintf("%q", col)
			}
			q = fmt.Sprintf(`SELECT count(*) FROM %q WHERE position(convert_to(?, 'UTF8') IN %s) > 0`, c[0], value)
		}
		if err := db.QueryRow(q, s).Scan(&n); err != nil {
			t.Fatalf("search %s.%s: %v", c[0], c[1], err)
		}
		if n > 0 {
			where = append(where, c[0]+"."+c[1])
		}
	}
	return where
}

func TestJoinWithChangedAddressNeedsConfirmation(t *testing.T) {
	app := newTestApp(t)
	ann, _ := app.member("ann@example.com", "ann")
	ann.post("/invitations", invite("bob@example.com", ""))
	path := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	bob := app.client()
	expect(t, "join with another address", bob.post(path, url.Values{"email": {"robert@example.com"}, "username": {"bob"}, "password": {testPassword}}), http.StatusSeeOther)
	expect(t, "asked to confirm", bob.get("/"), http.StatusOK, "robert@example.com", "Confirm your email address")
	linkIn(t, app.lastMailTo("robert@example.com"), "/confirm-email/")
}

func TestDeadLinks(t *testing.T) {
	app := newTestApp(t)
	ann, annUser := app.member("ann@example.com", "ann")
	expect(t, "unknown token", app.client().get("/join/abc"), http.StatusNotFound, "not valid")
	expect(t, "unknown well-formed token", app.client().get("/join/"+strings.Repeat("A", 43)), http.StatusNotFound)

	ann.post("/invitations", invite("bob@example.com", ""))
	old := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	inv := latestInvitation(t, app, annUser.ID)
	expect(t, "resend", ann.post(fmt.Sprintf("/invitations/%d/resend", inv.ID), nil), http.StatusSeeOther)
	fresh := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	if fresh == old {
		t.Fatal("resend kept the same link")
	}
	expect(t, "replaced link", app.client().get(old), http.StatusGone, "A newer email from ann replaced this link.")
	expect(t, "replaced link POST", app.client().post(old, url.Values{"email": {"bob@example.com"}, "username": {"bob"}, "password": {testPassword}}), http.StatusGone)

	expect(t, "revoke", ann.post(fmt.Sprintf("/invitations/%d/revoke", inv.ID), nil), http.StatusSeeOther)
	expect(t, "revoked link", app.client().get(fresh), http.StatusGone, "ann withdrew this invitation.")

	ann.post("/invitations", invite("cid@example.com", ""))
	expiring := linkIn(t, app.lastMailTo("cid@example.com"), "/join/")
	app.clock.Advance(169 * time.Hour)
	res := app.client().get(expiring)
	expect(t, "expired link", res, http.StatusGone, "This invitation expired on 9 Nov 2026. Ask ann for a new one.")
	before, _ := app.store.Users.Allocation(context.Background(), annUser.ID)
	if n, err := app.store.Invitations.ExpireDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep %d %v", n, err)
	}
	after, _ := app.store.Users.Allocation(context.Background(), annUser.ID)
	if after.Remaining() != before.Remaining()+1 {
		t.Errorf("sweep did not give the invitation back: %d then %d", before.Remaining(), after.Remaining())
	}
	expect(t, "expired link after the sweep", app.client().get(expiring), http.StatusGone, "expired")
}

func latestInvitation(t *testing.T, app *testApp, inviterID int64) models.Invitation {
	t.Helper()
	list, _, err := app.store.Invitations.List(context.Background(), models.ListFilter{InviterID: inviterID, PerPage: 1})
	if err != nil || len(list) == 0 {
		t.Fatalf("no invitation: %v", err)
	}
	return list[0]
}

func TestResendAndRevokeInPlace(t *testing.T) {
	app := newTestApp(t, withAllocation(1))
	ann, annUser := app.member("ann@example.com", "ann")
	bea, _ := app.member("bea@example.com", "bea")
	ann.post("/invitations", invite("bob@example.com", ""))
	inv := latestInvitation(t, app, annUser.ID)
	resend, revoke := fmt.Sprintf("/invitations/%d/resend", inv.ID), fmt.Sprintf("/invitations/%d/revoke", inv.ID)

	expect(t, "another member's resend", bea.post(resend, nil, htmx...), http.StatusNotFound)
	expect(t, "another member's revoke", bea.post(revoke, nil), http.StatusNotFound)
	expect(t, "bad id", ann.post("/invitations/abc/revoke", nil), http.StatusNotFound)

	res := ann.post(resend, nil, htmx...)
	expect(t, "first resend", res, http.StatusOK, fmt.Sprintf(`id="invitation-%d"`, inv.ID))
	res = ann.post(resend, nil, htmx...)
	expect(t, "second resend at once", res, http.StatusTooManyRequests, "Try again in a few minutes.")
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	res = ann.post(revoke, nil, htmx...)
	expect(t, "revoke in place", res, http.StatusOK, `data-status="revoked"`, `data-testid="invites-remaining" hx-swap-oob="true">1</span>`)
	if strings.Contains(res.body, "<html") {
		t.Error("htmx revoke answered a whole page")
	}
	expect(t, "revoke again", ann.post(revoke, nil, htmx...), http.StatusConflict, "no longer pending")
	expect(t, "filter", ann.get("/invitations?status=revoked"), http.StatusOK, "bob@example.com")
	expect(t, "filter pending", ann.get("/invitations?status=pending"), http.StatusOK, "No invitations with this status.")
	expect(t, "bad filter", ann.get("/invitations?status=nope"), http.StatusUnprocessableEntity)
}

func TestSentListPaginates(t *testing.T) {
	app := newTestApp(t, withAllocation(-1), withRates(0, 0))
	ann, annUser := app.member("ann@example.com", "ann")
	for i := range 30 {
		if _, _, err := app.store.Invitations.Create(context.Background(), annUser.ID, fmt.Sprintf("f%02d@example.com", i), "", 0); err != nil {
			t.Fatal(err)
		}
	}
	res := ann.get("/invitations")
	expect(t, "page 1", res, http.StatusOK, "30 invitations", "f29@example.com", "Page 1 of 2")
	if strings.Contains(res.body, "f00@example.com") {
		t.Error("page 1 shows the oldest")
	}
	expect(t, "page 2", ann.get("/invitations?page=2"), http.StatusOK, "f00@example.com", "Page 2 of 2")
	res = ann.get("/invitations?page=99")
	expect(t, "past the last page", res, http.StatusOK, "No invitations on page 99.", `href="/invitations"`, "Back to the first page")
	if strings.Contains(res.body, "not invited anyone") {
		t.Error("past the last page, the list says ann has invited nobody")
	}
	expect(t, "panel shows Unlimited", ann.get("/"), http.StatusOK, ">Unlimited</span>")
}

func TestConcurrentJoinsThroughOneLink(t *testing.T) {
	app := newTestApp(t)
	ann, _ := app.member("ann@example.com", "ann")
	ann.post("/invitations", invite("bob@example.com", ""))
	path := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 20 {
		wg.Go(func() {
			c := app.client()
			res := c.post(path, url.Values{"email": {"bob@example.com"}, "username": {fmt.Sprintf("bob%d", i)}, "password": {testPassword}})
			mu.Lock()
			statuses[res.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusSeeOther] != 1 {
		t.Errorf("statuses %v; want exactly one 303", statuses)
	}
	for s := range statuses {
		if s >= 500 {
			t.Errorf("a join answered %d", s)
		}
	}
}

func TestFailedEmailShowsAndResendDelivers(t *testing.T) {
	app := newTestApp(t)
	ann, annUser := app.member("ann@example.com", "ann")
	app.mail.setFailing(true)
	ann.post("/invitations", invite("bob@example.com", ""))
	for range 14 { // every attempt fails, each after its backoff, for the 24 hours of retries
		app.deliver()
		app.clock.Advance(2 * time.Hour)
	}
	res := ann.get("/")
	expect(t, "failed delivery", res, http.StatusOK, "email failed", `data-status="pending"`)
	inv := latestInvitation(t, app, annUser.ID)
	if inv.Delivery != models.DeliveryFailed || inv.Status != models.StatusPending {
		t.Fatalf("invitation %q with delivery %q; want pending and failed", inv.Status, inv.Delivery)
	}
	app.mail.setFailing(false)
	expect(t, "resend", ann.post(fmt.Sprintf("/invitations/%d/resend", inv.ID), nil), http.StatusSeeOther)
	path := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	expect(t, "link from the resent email", app.client().get(path), http.StatusOK, "ann invited you")
	expect(t, "delivered", ann.get("/"), http.StatusOK, "email sent")
}

func TestRequestLogsNeverCarryTokens(t *testing.T) {
	app := newTestApp(t)
	ann, _ := app.member("ann@example.com", "ann")
	ann.post("/invitations", invite("bob@example.com", ""))
	path := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	token := strings.TrimPrefix(path, "/join/")
	bob := app.client()
	bob.get(path + "?utm=x")
	bob.post(path, url.Values{"email": {"bob@example.com"}, "username": {"bob"}, "password": {testPassword}})
	app.client().post("/password/forgot", url.Values{"email": {"bob@example.com"}})
	reset := linkIn(t, app.lastMailTo("bob@example.com"), "/password/reset/")
	app.client().get(reset)

	logs := app.logs.String()
	if !strings.Contains(logs, "path=/join/…") || !strings.Contains(logs, "path=/password/reset/…") {
		t.Errorf("request log lacks the cut paths:\n%s", logs)
	}
	for _, secret := range []string{token, strings.TrimPrefix(reset, "/password/reset/"), testPassword, "utm"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
}

// Without JavaScript, a row's Revoke asks on a page first; the page
// changes nothing, and its button revokes. Staff get the same.
func TestRevokeAsksFirstWithoutJavaScript(t *testing.T) {
	app := newTestApp(t, withAllocation(3))
	ann, annUser := app.member("ann@example.com", "ann")
	bea, _ := app.member("bea@example.com", "bea")
	expect(t, "invite", ann.post("/invitations", invite("bob@example.com", "")), http.StatusSeeOther)
	list, _, _ := app.store.Invitations.List(context.Background(), models.ListFilter{InviterID: annUser.ID, PerPage: 10})
	if len(list) != 1 {
		t.Fatalf("%d invitations; want 1", len(list))
	}
	path := fmt.Sprintf("/invitations/%d/revoke", list[0].ID)
	expect(t, "the row's Revoke asks by GET", ann.get("/"), http.StatusOK, `<form method="get" action="`+path+`"`)

	page := ann.get(path)
	expect(t, "the question", page, http.StatusOK, "Withdraw the invitation to bob@example.com?",
		`<form method="post" action="`+path+`"`, `data-testid="revoke-confirm-submit"`, `name="next" value="/"`)
	if inv, _ := app.store.Invitations.Get(context.Background(), list[0].ID); inv.Status != models.StatusPending {
		t.Fatalf("the question changed the invitation: %s", inv.Status)
	}
	expect(t, "someone else's", bea.get(path), http.StatusNotFound)
	expect(t, "not a number", ann.get("/invitations/x/revoke"), http.StatusNotFound)

	res := ann.post(path, url.Values{"next": {"/"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/" {
		t.Fatalf("the page's button: %d to %q; want 303 to /", res.status, res.header.Get("Location"))
	}
	if inv, _ := app.store.Invitations.Get(context.Background(), list[0].ID); inv.Status != models.StatusRevoked {
		t.Fatalf("after the page's button the invitation is %s; want revoked", inv.Status)
	}
	expect(t, "asked again once revoked", ann.get(path), http.StatusConflict, "no longer pending")

	// Staff.
	expect(t, "invite again", ann.post("/invitations", invite("cy@example.com", "")), http.StatusSeeOther)
	list, _, _ = app.store.Invitations.List(context.Background(), models.ListFilter{InviterID: annUser.ID, Status: models.StatusPending, PerPage: 10})
	staffPath := fmt.Sprintf("/staff/invitations/%d/revoke", list[0].ID)
	app.store.Users.Create(context.Background(), models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true})
	boss := app.client()
	boss.login("boss", testPassword)
	expect(t, "the staff row asks by GET", boss.get("/staff/invitations"), http.StatusOK, `<form method="get" action="`+staffPath+`"`)
	expect(t, "the staff question", boss.get(staffPath), http.StatusOK, "Revoke the invitation from @ann to cy@example.com?",
		`<form method="post" action="`+staffPath+`"`)
	expect(t, "not for members", ann.get(staffPath), http.StatusForbidden)
	expect(t, "the staff button", boss.post(staffPath, nil), http.StatusSeeOther)
	if inv, _ := app.store.Invitations.Get(context.Background(), list[0].ID); inv.Status != models.StatusRevoked {
		t.Errorf("after the staff button the invitation is %s; want revoked", inv.Status)
	}
}
