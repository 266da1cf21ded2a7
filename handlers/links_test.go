package handlers_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

var linkSecret = []byte("a test secret of thirty-two bytes")

// withSecret gives the store the secret that keys shareable links.
func withSecret() appOption {
	return func(o *models.Options, _ *handlers.Config) { o.LinkSecret = linkSecret }
}

// withLinks sets BECKON_LINKS.
func withLinks(mode string) appOption {
	return func(_ *models.Options, c *handlers.Config) { c.Links = mode }
}

// linkURLs returns the paths of the link addresses shown on /links, newest first.
func linkURLs(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(`value="([^"]*/join/[A-Za-z0-9_-]{43})"`).FindAllStringSubmatch(body, -1) {
		u, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u.Path)
	}
	return out
}

// makeLink creates a link through the form and returns its /join/ path.
func makeLink(t *testing.T, c *client, uses int, label string) string {
	t.Helper()
	res := c.post("/links", url.Values{"uses": {fmt.Sprint(uses)}, "label": {label}})
	expect(t, "make link", res, http.StatusSeeOther)
	page := c.get("/links")
	expect(t, "links page", page, http.StatusOK)
	urls := linkURLs(t, page.body)
	if len(urls) == 0 {
		t.Fatalf("no link address on /links:\n%s", mainPart(page.body))
	}
	return urls[0]
}

func joinForm(email, username string) url.Values {
	return url.Values{"email": {email}, "username": {username}, "password": {testPassword}}
}

func remaining(t *testing.T, c *client) string {
	t.Helper()
	m := regexp.MustCompile(`data-testid="nav-invites-remaining">([^<]*)<`).FindStringSubmatch(c.get("/").body)
	if m == nil {
		t.Fatal("no counter")
	}
	return m[1]
}

// Ten people at once through a link of three: three members, seven 410s.
func TestLinkOfThreeUnderTenConcurrentJoins(t *testing.T) {
	app := newTestApp(t, withSecret())
	ann, annUser := app.member("ann@example.com", "ann")
	path := makeLink(t, ann, 3, "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 10 {
		wg.Go(func() {
			res := app.client().post(path, joinForm(fmt.Sprintf("person%d@example.com", i), fmt.Sprintf("person%d", i)))
			mu.Lock()
			statuses[res.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusSeeOther] != 3 || statuses[http.StatusGone] != 7 {
		t.Errorf("statuses %v; want 3 joins (303) and 7 answers of 410", statuses)
	}
	var members int
	app.store.DB.QueryRow(`SELECT count(*) FROM users WHERE invited_by = ?`, annUser.ID).Scan(&members)
	if members != 3 {
		t.Errorf("%d members joined; want 3", members)
	}
	expect(t, "used-up link", app.client().get(path), http.StatusGone, "has joined already")
}

// The counter shows the held invitations from the moment the link exists
// and gives the unused back when it is closed; a closed link says so.
func TestLinkHoldsInvitationsUntilClosed(t *testing.T) {
	app := newTestApp(t, withSecret(), withAllocation(5))
	ann, annUser := app.member("ann@example.com", "ann")
	if got := remaining(t, ann); got != "5" {
		t.Fatalf("remaining %s before", got)
	}
	path := makeLink(t, ann, 3, "chess club")
	if got := remaining(t, ann); got != "2" {
		t.Errorf("remaining %s with a link of 3; want 2", got)
	}
	expect(t, "a link of 3 with 2 left", ann.post("/links", url.Values{"uses": {"3"}}), http.StatusUnprocessableEntity, "You do not have that many invitations left")
	expect(t, "join", app.client().post(path, joinForm("bob@example.com", "bob")), http.StatusSeeOther)
	if got := remaining(t, ann); got != "2" {
		t.Errorf("remaining %s after a join; want still 2", got)
	}
	links, _ := app.store.Links.List(context.Background(), annUser.ID)
	res := ann.post(fmt.Sprintf("/links/%d/close", links[0].ID), nil, htmx...)
	expect(t, "close (htmx)", res, http.StatusOK, `id="links-panel"`, `data-status="closed"`, `id="nav-invites-remaining" data-testid="nav-invites-remaining" hx-swap-oob="true">4<`)
	if got := remaining(t, ann); got != "4" {
		t.Errorf("remaining %s after closing; want 4 (one spent, two back)", got)
	}
	expect(t, "closed link", app.client().get(path), http.StatusGone, "ann closed this link.")
	expect(t, "close again", ann.post(fmt.Sprintf("/links/%d/close", links[0].ID), nil), http.StatusConflict)
	cid, _ := app.member("cid@example.com", "cid")
	expect(t, "another's link", cid.post(fmt.Sprintf("/links/%d/close", links[0].ID), nil), http.StatusNotFound)
	expect(t, "bad uses", ann.post("/links", url.Values{"uses": {"101"}, "expires_in": {"721"}, "label": {strings.Repeat("x", 61)}}), http.StatusUnprocessableEntity,
		"from 1 to 100", "from 1 to 720", "Keep the label to 60 characters.")
}

// An expired link gives back its invitations through the sweep.
func TestExpiredLinkGivesBackThroughTheSweep(t *testing.T) {
	app := newTestApp(t, withSecret(), withAllocation(5))
	ann, _ := app.member("ann@example.com", "ann")
	expect(t, "make link", ann.post("/links", url.Values{"uses": {"4"}, "expires_in": {"2"}}), http.StatusSeeOther)
	path := linkURLs(t, ann.get("/links").body)[0]
	if got := remaining(t, ann); got != "1" {
		t.Fatalf("remaining %s", got)
	}
	app.clock.Advance(2*time.Hour + time.Second)
	expect(t, "expired link", app.client().get(path), http.StatusGone, "This link expired on 2 Nov 2026. Ask ann for a new one.")
	expect(t, "join through it", app.client().post(path, joinForm("bob@example.com", "bob")), http.StatusGone)
	if _, err := app.store.Invitations.ExpireDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := remaining(t, ann); got != "5" {
		t.Errorf("remaining %s after the sweep; want 5", got)
	}
	expect(t, "links page", ann.get("/links"), http.StatusOK, `data-status="expired"`)
}

// A joiner shows in the sent list, the tree and GET /links, with the label;
// they must confirm their address before inviting; a member's address is
// refused and uses nothing.
func TestLinkJoinersShowEverywhereAndConfirmFirst(t *testing.T) {
	app := newTestApp(t, withSecret())
	ann, annUser := app.member("ann@example.com", "ann")
	path := makeLink(t, ann, 1, "Book club")
	expect(t, "the close button names its link", ann.get("/links"), http.StatusOK, `aria-label="Close link &#34;Book club&#34;"`)

	visitor := app.client()
	res := visitor.get(path)
	expect(t, "join page", res, http.StatusOK, "ann invited you to join Beckon", "@ann shared this link", `name="email"`)
	if strings.Contains(res.body, "Book club") {
		t.Error("the private label is shown to the visitor")
	}
	if res.header.Get("Referrer-Policy") != "no-referrer" || res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("join page headers %v", res.header)
	}
	expect(t, "signed-in visitor", ann.get(path), http.StatusOK, "You are already a member")
	expect(t, "a member's address", visitor.post(path, joinForm("ANN@example.com", "ann2")), http.StatusUnprocessableEntity,
		"An account with this email address already exists.")
	expect(t, "link still unused", app.client().get(path), http.StatusOK, "shared this link")

	expect(t, "join", visitor.post(path, joinForm("bob@example.com", "bob")), http.StatusSeeOther)
	expect(t, "joined, to confirm", visitor.get("/"), http.StatusOK, "@bob", "to confirm your address", "Confirm your email address")
	expect(t, "cannot invite yet", visitor.post("/invitations", invite("cid@example.com", "")), http.StatusForbidden)
	confirm := linkIn(t, app.lastMailTo("bob@example.com"), "/confirm-email/")
	expect(t, "confirm", visitor.post(confirm, nil), http.StatusSeeOther)
	visitor = app.client()
	visitor.login("bob", testPassword)
	expect(t, "can invite now", visitor.post("/invitations", invite("cid@example.com", "")), http.StatusSeeOther)

	if m := app.lastMailTo("ann@example.com"); !strings.Contains(m.Subject, "joined") {
		t.Errorf("the link's creator got %q; want the join notice", m.Subject)
	}
	expect(t, "sent list", ann.get("/invitations"), http.StatusOK, `data-status="accepted"`, `href="/u/bob"`, "Book club", "through a shared link")
	expect(t, "tree node", ann.get(fmt.Sprintf("/tree/%d", annUser.ID), htmx...), http.StatusOK, `href="/u/bob"`)
	expect(t, "links page", ann.get("/links"), http.StatusOK, "Book club", "Joined:", `href="/u/bob"`, "0 of 1 use left", `data-status="used"`)
	expect(t, "profile", ann.get("/u/bob"), http.StatusOK, "Invited by", `href="/u/ann"`)
	expect(t, "used-up link", app.client().get(path), http.StatusGone, "has joined already")
	a, _ := app.store.Users.Allocation(context.Background(), annUser.ID)
	if a.Held != 1 || a.Accepted != 1 {
		t.Errorf("allocation %+v; want the held invitation accepted", a)
	}
	assertNoRawTokenInDB(t, app, strings.TrimPrefix(path, "/join/"), "bob@example.com")
}

// Labels through the form and the API, filtered on the sent list, the API
// list and /staff/invitations.
func TestLabelsThroughFormAndAPIAndFilters(t *testing.T) {
	app := newTestApp(t, withAllocation(10), withRates(0, 0))
	ann, annUser := app.member("ann@example.com", "ann")
	expect(t, "labelled", ann.post("/invitations", url.Values{"email": {"bob@example.com"}, "label": {" work "}}), http.StatusSeeOther)
	expect(t, "unlabelled", ann.post("/invitations", url.Values{"email": {"cid@example.com"}}), http.StatusSeeOther)
	expect(t, "bad label", ann.post("/invitations", url.Values{"email": {"dan@example.com"}, "label": {"a\u202eb"}}, htmx...), http.StatusUnprocessableEntity, "invisible or control")
	token := app.tokenFor(t, annUser)
	status, body, _ := app.apiCall(t, "POST", "/api/v1/invite/", token, map[string]any{"email": "eve@example.com", "label": "work"})
	if status != http.StatusCreated || body["invitation"].(map[string]any)["label"] != "work" {
		t.Errorf("API invite: %d %v", status, body)
	}
	status, body, _ = app.apiCall(t, "POST", "/api/v1/invite/", token, map[string]any{"email": "fay@example.com", "label": strings.Repeat("x", 61)})
	if status != http.StatusUnprocessableEntity || fieldMsg(body, "label") == "" {
		t.Errorf("API long label: %d %v", status, body)
	}

	res := ann.get("/invitations?label=work")
	expect(t, "sent list by label", res, http.StatusOK, "bob@example.com", "eve@example.com", `value="work"`)
	if strings.Contains(res.body, ">cid@example.com<") {
		t.Error("the label filter shows an unlabelled invitation")
	}
	expect(t, "status link keeps the label", res, http.StatusOK, `href="/invitations?label=work&amp;status=pending"`)
	status, body, _ = app.apiCall(t, "GET", "/api/v1/invitations?label=work", token, nil)
	if list, _ := body["invitations"].([]any); status != http.StatusOK || len(list) != 2 {
		t.Errorf("API list by label: %d %v", status, body)
	}

	boss, _ := app.store.Users.Create(context.Background(), models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true})
	staff := app.client()
	staff.login(boss.Username, testPassword)
	res = staff.get("/staff/invitations?label=work")
	expect(t, "staff list by label", res, http.StatusOK, "bob@example.com", "eve@example.com", `data-testid="staff-invitation-label"`)
	if strings.Contains(res.body, ">cid@example.com<") {
		t.Error("the staff label filter shows an unlabelled invitation")
	}
}

// The API makes and lists links in the documented shape.
func TestAPILinks(t *testing.T) {
	app := newTestApp(t, withSecret())
	_, annUser := app.member("ann@example.com", "ann")
	token := app.tokenFor(t, annUser)
	status, body, _ := app.apiCall(t, "POST", "/api/v1/links", token, map[string]any{"uses": 2, "expires_in_hours": 24, "label": "newsletter"})
	if status != http.StatusCreated || body["uses_left"] != 2.0 || body["label"] != "newsletter" || body["status"] != "open" {
		t.Fatalf("create: %d %v", status, body)
	}
	u, err := url.Parse(body["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "join", app.client().post(u.Path, joinForm("bob@example.com", "bob")), http.StatusSeeOther)
	status, body, _ = app.apiCall(t, "GET", "/api/v1/links", token, nil)
	links, _ := body["links"].([]any)
	if status != http.StatusOK || len(links) != 1 {
		t.Fatalf("list: %d %v", status, body)
	}
	l := links[0].(map[string]any)
	joined, _ := l["joined"].([]any)
	if l["uses_left"] != 1.0 || len(joined) != 1 || joined[0].(map[string]any)["username"] != "bob" {
		t.Errorf("listed link %v", l)
	}
	for _, bad := range []map[string]any{{"uses": 0}, {"uses": 101}, {"uses": 1, "expires_in_hours": 721}, {}} {
		if status, body, _ := app.apiCall(t, "POST", "/api/v1/links", token, bad); status != http.StatusUnprocessableEntity {
			t.Errorf("%v: %d %v", bad, status, body)
		}
	}
	if status, body, _ := app.apiCall(t, "POST", "/api/v1/links", token, map[string]any{"uses": 100}); status != http.StatusUnprocessableEntity || errCode(body) != "no_invitations_left" {
		t.Errorf("more uses than left: %d %v", status, body)
	}
}

// BECKON_LINKS=off refuses the page, the form, the API and the links, and
// the nav has no link to them; staff mode lets only staff in.
func TestLinksOffAndStaffOnly(t *testing.T) {
	app := newTestApp(t, withSecret(), withLinks(handlers.LinksOff))
	ann, annUser := app.member("ann@example.com", "ann")
	l, _, err := app.store.Links.Create(context.Background(), annUser, 1, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	res := ann.get("/")
	if strings.Contains(res.body, `href="/links"`) {
		t.Error("the nav links to /links with links off")
	}
	expect(t, "page", ann.get("/links"), http.StatusForbidden, "turned off")
	expect(t, "form", ann.post("/links", url.Values{"uses": {"1"}}), http.StatusForbidden)
	expect(t, "join", app.client().get("/join/"+l.Token), http.StatusForbidden)
	if status, body, _ := app.apiCall(t, "POST", "/api/v1/links", app.tokenFor(t, annUser), map[string]any{"uses": 1}); status != http.StatusForbidden || errCode(body) != "links_disabled" {
		t.Errorf("API: %d %v", status, body)
	}

	app = newTestApp(t, withSecret(), withLinks(handlers.LinksStaff))
	ann, _ = app.member("ann@example.com", "ann")
	expect(t, "member, staff mode", ann.get("/links"), http.StatusForbidden, "Only staff")
	if strings.Contains(ann.get("/").body, `href="/links"`) {
		t.Error("the nav links to /links for a member in staff mode")
	}
	app.store.Users.Create(context.Background(), models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true})
	boss := app.client()
	boss.login("boss", testPassword)
	expect(t, "staff, staff mode", boss.get("/links"), http.StatusOK, "Shareable links")
	expect(t, "nav for staff", boss.get("/"), http.StatusOK, `href="/links"`)
}

// Under another secret, the old link addresses are unknown.
func TestAnotherSecretMakesOldLinksUnknown(t *testing.T) {
	app := newTestApp(t, withSecret())
	ann, _ := app.member("ann@example.com", "ann")
	path := makeLink(t, ann, 2, "")
	expect(t, "under the secret", app.client().get(path), http.StatusOK)

	store := models.New(app.store.DB, models.Options{Now: app.clock.Now, Argon: models.CheapArgon,
		Composer: mail.Composer{SiteName: "Beckon", BaseURL: app.srv.URL}, LinkSecret: []byte("another secret, thirty-two bytes!")})
	sessions := handlers.NewSessionManager(testdb.SessionStore(app.store.DB), false)
	srv := httptest.NewServer(handlers.New(slog.New(slog.NewTextHandler(io.Discard, nil)), store, sessions, app.cfg).Routes())
	defer srv.Close()
	res, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("old link under another secret: %d; want 404", res.StatusCode)
	}
}

// Joining paused holds for shareable links too: 403, and the link unused.
func TestJoiningPausedHoldsForLinks(t *testing.T) {
	app := newTestApp(t, withSecret())
	ann, annUser := app.member("ann@example.com", "ann")
	path := makeLink(t, ann, 1, "")
	if err := app.store.Settings.Save(context.Background(), annUser.ID, models.SiteSettings{JoiningPaused: true}); err != nil {
		t.Fatal(err)
	}
	expect(t, "paused, GET", app.client().get(path), http.StatusForbidden, "paused")
	expect(t, "paused, POST", app.client().post(path, joinForm("bob@example.com", "bob")), http.StatusForbidden, "paused")
	if err := app.store.Settings.Save(context.Background(), annUser.ID, models.SiteSettings{}); err != nil {
		t.Fatal(err)
	}
	expect(t, "reopened", app.client().post(path, joinForm("bob@example.com", "bob")), http.StatusSeeOther)
}
