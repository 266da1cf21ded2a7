package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
)

func withReminder(d time.Duration) appOption {
	return func(o *models.Options, _ *handlers.Config) { o.InviteReminder = d }
}

// mailsTo is the messages among msgs sent to addr, in order.
func mailsTo(msgs []mail.Message, addr string) []mail.Message {
	var out []mail.Message
	for _, m := range msgs {
		if strings.EqualFold(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

func joinAs(username, name string) url.Values {
	return url.Values{"email": {username + "@example.com"}, "username": {username}, "name": {name}, "password": {testPassword}}
}

func outboxCount(t *testing.T, app *testApp, kind string) int {
	t.Helper()
	var n int
	if err := app.store.DB.QueryRow(`SELECT count(*) FROM outbox WHERE kind = ?`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The inviter hears of a join through their invitation once: the email is
// queued with the join, and nothing that runs again (deliveries, sweeps, the
// used link) queues another.
func TestInviterEmailedOnceWhenInviteeJoins(t *testing.T) {
	app := newTestApp(t, withReminder(48*time.Hour))
	ann, _ := app.member("ann@example.com", "ann")
	expect(t, "invite", ann.post("/invitations", invite("bob@example.com", "")), http.StatusSeeOther)
	link := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	if got := mailsTo(app.deliver(), "ann@example.com"); len(got) != 0 {
		t.Fatalf("ann was emailed before anyone joined: %q", got[0].Subject)
	}
	expect(t, "join", app.client().post(link, joinAs("bob", "Bob Brown")), http.StatusSeeOther)
	got := mailsTo(app.deliver(), "ann@example.com")
	if len(got) != 1 {
		t.Fatalf("%d emails to ann after the join; want 1", len(got))
	}
	msg := got[0]
	if msg.Subject != "Bob Brown joined Beckon" {
		t.Errorf("subject %q", msg.Subject)
	}
	for _, want := range []string{"Bob Brown", "(@bob)", "joined Beckon through your invitation", app.srv.URL + "/u/bob"} {
		if !strings.Contains(msg.Text, want) || !strings.Contains(msg.HTML, want) {
			t.Errorf("email lacks %q:\n%s\n%s", want, msg.Text, msg.HTML)
		}
	}
	expect(t, "profile link", ann.get(linkIn(t, msg, "/u/")), http.StatusOK, "Bob Brown")

	expect(t, "the used link", app.client().post(link, joinAs("bob2", "Bob Two")), http.StatusGone)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		app.clock.Advance(24 * time.Hour)
		if _, err := app.store.Invitations.ExpireDue(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := app.store.Invitations.RemindDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	app.clock.Advance(models.ClaimLease)
	if got := mailsTo(app.deliver(), "ann@example.com"); len(got) != 1 {
		t.Errorf("%d emails to ann in the end; want 1", len(got))
	}
	if n := outboxCount(t, app, "invitee_joined"); n != 1 {
		t.Errorf("%d join emails queued; want 1", n)
	}
}

var notifyChecked = regexp.MustCompile(`<input[^>]*name="notify_joins"[^>]*\bchecked\b`)

// The checkbox notify_joins on /settings, on by default, turns the join
// email off and on again.
func TestJoinEmailFollowsTheSetting(t *testing.T) {
	app := newTestApp(t)
	ann, annUser := app.member("ann@example.com", "ann")
	res := ann.get("/settings")
	expect(t, "settings", res, http.StatusOK, `name="notify_joins"`, "Email me when someone joins through my invitation")
	if !notifyChecked.MatchString(res.body) {
		t.Fatalf("the checkbox is not checked by default:\n%s", mainPart(res.body))
	}
	// Unchecked, a browser sends no value at all.
	expect(t, "turn off", ann.post("/settings", url.Values{"name": {"Ann Smith"}}), http.StatusSeeOther)
	res = ann.get("/settings")
	expect(t, "saved", res, http.StatusOK, "Your settings are saved.", `value="Ann Smith"`)
	if notifyChecked.MatchString(res.body) {
		t.Errorf("the checkbox is still checked after turning it off")
	}
	// A refused form keeps what was typed, the checkbox included.
	res = ann.post("/settings", url.Values{"name": {strings.Repeat("x", 500)}, "notify_joins": {"on"}})
	if res.status != http.StatusUnprocessableEntity || !notifyChecked.MatchString(res.body) {
		t.Errorf("refused form: %d, checked %v", res.status, notifyChecked.MatchString(res.body))
	}
	if on, _ := app.store.Users.NotifyJoins(context.Background(), annUser.ID); on {
		t.Fatal("a refused form changed the setting")
	}

	ann.post("/invitations", invite("bob@example.com", ""))
	link := linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	expect(t, "bob joins", app.client().post(link, joinAs("bob", "Bob")), http.StatusSeeOther)
	if got := mailsTo(app.deliver(), "ann@example.com"); len(got) != 0 {
		t.Errorf("ann was emailed with the setting off: %q", got[0].Subject)
	}
	if n := outboxCount(t, app, "invitee_joined"); n != 0 {
		t.Errorf("%d join emails queued with the setting off", n)
	}

	expect(t, "turn on", ann.post("/settings", url.Values{"name": {"Ann Smith"}, "notify_joins": {"on"}}), http.StatusSeeOther)
	if !notifyChecked.MatchString(ann.get("/settings").body) {
		t.Error("the checkbox is not checked after turning it on")
	}
	ann.post("/invitations", invite("cid@example.com", ""))
	link = linkIn(t, app.lastMailTo("cid@example.com"), "/join/")
	expect(t, "cid joins", app.client().post(link, joinAs("cid", "Cid")), http.StatusSeeOther)
	if got := mailsTo(app.deliver(), "ann@example.com"); len(got) != 1 || got[0].Subject != "Cid joined Beckon" {
		t.Errorf("emails to ann with the setting on again: %d", len(got))
	}
}

// remindedInvitation has ann invite bob, delivers the first email, and
// moves the clock to the reminder and delivers it. It returns the two links.
func remindedInvitation(t *testing.T, app *testApp, ann *client) (first, second string) {
	t.Helper()
	expect(t, "invite", ann.post("/invitations", invite("bob@example.com", "See you there")), http.StatusSeeOther)
	first = linkIn(t, app.lastMailTo("bob@example.com"), "/join/")
	app.clock.Advance(120 * time.Hour) // 168h expiry, 48h reminder
	if n, err := app.store.Invitations.RemindDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("reminded %d, %v; want 1", n, err)
	}
	got := mailsTo(app.deliver(), "bob@example.com")
	if len(got) != 2 {
		t.Fatalf("%d emails to bob; want the invitation and its reminder", len(got))
	}
	second = linkIn(t, got[1], "/join/")
	if first == second {
		t.Fatal("the reminder carries the first email's link")
	}
	return first, second
}

// One reminder per pending invitation, at the right time and not before,
// with a link and the opt-out; none for a revoked, declined or opted-out
// one; the sent list says "reminded".
func TestOneReminderBeforeExpiry(t *testing.T) {
	app := newTestApp(t, withReminder(48*time.Hour))
	ctx := context.Background()
	ann, annUser := app.member("ann@example.com", "ann")
	for _, to := range []string{"bob", "rev", "dec", "opt"} {
		expect(t, "invite "+to, ann.post("/invitations", invite(to+"@example.com", "See you there")), http.StatusSeeOther)
	}
	msgs := app.deliver()
	links := map[string]string{}
	for _, to := range []string{"bob", "rev", "dec", "opt"} {
		got := mailsTo(msgs, to+"@example.com")
		if len(got) != 1 {
			t.Fatalf("%d emails to %s", len(got), to)
		}
		links[to] = linkIn(t, got[0], "/join/")
	}
	list, _, _ := app.store.Invitations.List(ctx, models.ListFilter{InviterID: annUser.ID, Email: "rev@example.com", PerPage: 5})
	if len(list) != 1 {
		t.Fatalf("rev's invitation: %d", len(list))
	}
	expect(t, "revoke", ann.post(fmt.Sprintf("/invitations/%d/revoke", list[0].ID), nil), http.StatusSeeOther)
	expect(t, "decline", app.client().post(links["dec"]+"/decline", nil), http.StatusOK)
	expect(t, "opt out", app.client().post("/optout/"+strings.TrimPrefix(links["opt"], "/join/"), nil), http.StatusOK)

	// A minute before the reminder is due: nothing.
	app.clock.Advance(120*time.Hour - time.Minute)
	if n, err := app.store.Invitations.RemindDue(ctx); err != nil || n != 0 {
		t.Fatalf("reminded %d, %v a minute early", n, err)
	}
	if got := mailsTo(app.deliver(), "bob@example.com"); len(got) != 1 {
		t.Fatalf("bob got %d emails before the reminder was due", len(got))
	}
	app.clock.Advance(time.Minute)
	if n, err := app.store.Invitations.RemindDue(ctx); err != nil || n != 1 {
		t.Fatalf("reminded %d, %v; want bob's alone", n, err)
	}
	msgs = app.deliver()
	got := mailsTo(msgs, "bob@example.com")
	if len(got) != 2 {
		t.Fatalf("bob got %d emails; want 2", len(got))
	}
	r := got[1]
	if r.Subject != "Reminder: ann invited you to join Beckon" {
		t.Errorf("subject %q", r.Subject)
	}
	for _, want := range []string{"See you there", "expires on", "/optout/"} {
		if !strings.Contains(r.Text, want) || !strings.Contains(r.HTML, want) {
			t.Errorf("reminder lacks %q:\n%s", want, r.Text)
		}
	}
	second := linkIn(t, r, "/join/")
	if optOut := linkIn(t, r, "/optout/"); strings.TrimPrefix(optOut, "/optout/") != strings.TrimPrefix(second, "/join/") {
		t.Errorf("the reminder's opt-out link %s does not carry its join link's token", optOut)
	}
	for _, to := range []string{"rev", "dec", "opt"} {
		if got := mailsTo(msgs, to+"@example.com"); len(got) != 1 {
			t.Errorf("%s got %d emails; want no reminder", to, len(got))
		}
	}

	// Once only: the next sweeps find nothing, up to the expiry and after.
	for i := 0; i < 4; i++ {
		if n, err := app.store.Invitations.RemindDue(ctx); err != nil || n != 0 {
			t.Fatalf("sweep %d reminded %d, %v", i, n, err)
		}
		app.clock.Advance(12 * time.Hour)
		app.store.Invitations.ExpireDue(ctx)
	}
	if got := mailsTo(app.deliver(), "bob@example.com"); len(got) != 2 {
		t.Errorf("bob got %d emails in the end; want 2", len(got))
	}
	expect(t, "sent list", ann.get("/invitations"), http.StatusOK, `data-testid="reminded">· reminded <time datetime="2026-11-07`)
}

// The reminder's link joins.
func TestReminderLinkJoins(t *testing.T) {
	app := newTestApp(t, withReminder(48*time.Hour))
	ann, _ := app.member("ann@example.com", "ann")
	first, second := remindedInvitation(t, app, ann)
	bob := app.client()
	expect(t, "the reminder's join page", bob.get(second), http.StatusOK, "ann invited you to join Beckon", "See you there")
	expect(t, "join through the reminder", bob.post(second, joinAs("bob", "Bob")), http.StatusSeeOther)
	expect(t, "signed in", bob.get("/"), http.StatusOK, "@bob")
	expect(t, "the first link after", app.client().get(first), http.StatusGone, "already been used")
}

// The first email's link still joins after the reminder went out.
func TestFirstLinkJoinsAfterReminder(t *testing.T) {
	app := newTestApp(t, withReminder(48*time.Hour))
	ann, _ := app.member("ann@example.com", "ann")
	first, second := remindedInvitation(t, app, ann)
	bob := app.client()
	expect(t, "the first join page", bob.get(first), http.StatusOK, "ann invited you to join Beckon")
	expect(t, "join through the first link", bob.post(first, joinAs("bob", "Bob")), http.StatusSeeOther)
	expect(t, "signed in", bob.get("/"), http.StatusOK, "@bob")
	expect(t, "the reminder's link after", app.client().get(second), http.StatusGone, "already been used")
}
