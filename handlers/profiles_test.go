package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

// seedMembers inserts members m{from}..m{to} (their ids too) in one
// statement, each invited by the member whose id inviter (an SQL expression
// of i, the new member's id; NULL for none) gives, with an allocation each.
func seedMembers(t testing.TB, app *testApp, from, to int, inviter string) {
	t.Helper()
	_, err := app.store.DB.Exec(`WITH RECURSIVE seq(i) AS (SELECT CAST(? AS BIGINT) UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO users (id, email, email_key, username, name, password_hash, joined_at, invited_by)
		SELECT i, 'm' || i || '@example.com', 'm' || i || '@example.com', 'm' || i, 'Member ' || i, 'x', 1700000000, `+inviter+` FROM seq`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.store.DB.Exec(`INSERT INTO allocations (user_id) SELECT id FROM users WHERE id BETWEEN ? AND ?`, from, to); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL's identity does not move past ids given explicitly.
	if models.EngineOf(app.store.DB) == models.Postgres {
		if _, err := app.store.DB.Exec(`SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`); err != nil {
			t.Fatal(err)
		}
	}
}

var profileLinkRE = regexp.MustCompile(`href="/u/m(\d+)"`)

// profileLinks lists the ids of the members m{id} that body links to.
func profileLinks(body string) []string {
	var ids []string
	for _, m := range profileLinkRE.FindAllStringSubmatch(mainPart(body), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestTreeIsBoundedAndLoadsInviteesOnDemand(t *testing.T) {
	app := newTestApp(t)
	c, _ := app.member("root@example.com", "root") // id 1, a root
	// 20,000 more: m2..m10001 joined on their own; m10002..m10121 were
	// invited by m2, and m10122..m20001 each by one of m122..m10001.
	seedMembers(t, app, 2, 20001, `CASE WHEN i <= 10001 THEN NULL WHEN i <= 10121 THEN 2 ELSE i - 10000 END`)

	res := c.get("/tree")
	expect(t, "tree", res, http.StatusOK, `href="/u/root"`, `href="/u/m2"`, `href="/u/m50"`,
		"invited 120 members", `hx-get="/tree/2"`, `href="/tree/2"`, `href="/tree?after=50"`)
	if len(res.body) > 200<<10 {
		t.Errorf("tree of 20,001 members is %d bytes; want at most 200 KB", len(res.body))
	}
	if n := len(profileLinks(res.body)); n > 60 {
		t.Errorf("tree lists %d members on one page", n)
	}
	if strings.Contains(res.body, `href="/u/m51"`) || strings.Contains(res.body, `href="/u/m10002"`) {
		t.Error("tree lists more than its first page of roots")
	}

	// The next page of roots: a page of its own, or nodes alone to htmx.
	expect(t, "second page", c.get("/tree?after=50"), http.StatusOK, "<html", `href="/u/m51"`, `href="/u/m100"`, `href="/tree"`)
	more := c.get("/tree?after=50", htmx...)
	expect(t, "more roots", more, http.StatusOK, `href="/u/m51"`, `href="/tree?after=100"`)
	if strings.Contains(more.body, "<html") || strings.Contains(more.body, `href="/u/m50"`) {
		t.Errorf("more roots is not just the next nodes:\n%.600s", more.body)
	}

	// m2's invitees, loaded into m2's node.
	frag := c.get("/tree/2", htmx...)
	expect(t, "invitees of m2", frag, http.StatusOK, `href="/u/m10002"`, `href="/u/m10051"`, `hx-get="/tree/2?after=10051"`)
	if strings.Contains(frag.body, "<html") {
		t.Error("invitees to htmx came as a whole page")
	}
	if got := profileLinks(frag.body); len(got) != 50 {
		t.Errorf("fragment lists %d members; want 50", len(got))
	}
	if strings.Contains(frag.body, `href="/u/m10052"`) {
		t.Error("fragment lists more than one page")
	}
	last := c.get("/tree/2?after=10101", htmx...)
	expect(t, "last invitees of m2", last, http.StatusOK, `href="/u/m10102"`, `href="/u/m10121"`)
	if strings.Contains(last.body, "tree-more") {
		t.Error("the last page offers more")
	}

	// A node deeper down: m200 invited m10200, who invited no one.
	expect(t, "deeper node", c.get("/tree/200", htmx...), http.StatusOK, `href="/u/m10200"`, "invited no one yet")

	// Without JavaScript: a page of the tree for one member.
	page := c.get("/tree/200")
	expect(t, "node page", page, http.StatusOK, "<html", "Members @m200 invited", `href="/u/m10200"`, "joined on their own")
	expect(t, "node page up the tree", c.get("/tree/10200"), http.StatusOK, "Nobody yet.", `href="/tree/200"`)

	expect(t, "unknown member", c.get("/tree/999999", htmx...), http.StatusNotFound)
	expect(t, "not an id", c.get("/tree/abc"), http.StatusNotFound)
	expect(t, "junk cursor", c.get("/tree?after=x"), http.StatusOK, `href="/u/m2"`)
}

func TestTreeNodesAreNamedDisclosures(t *testing.T) {
	app := newTestApp(t)
	c, _ := app.member("root@example.com", "root")
	seedMembers(t, app, 2, 3, `1`)
	res := c.get("/tree")
	expect(t, "tree", res, http.StatusOK, "<details", `<span class="sr-only">@root </span>invited 2 members</summary>`,
		`hx-target="#tree-children-1"`, "See whom @root invited")
	if strings.Contains(res.body, `href="/u/m2"`) {
		t.Error("invitees are on the page before they were asked for")
	}
}

func TestProfileInviteesArePaged(t *testing.T) {
	app := newTestApp(t)
	c, ann := app.member("ann@example.com", "ann") // id 1
	seedMembers(t, app, 2, 121, fmt.Sprint(ann.ID))

	first := c.get("/u/ann")
	expect(t, "first page", first, http.StatusOK, "Brought in 120 members", `href="/u/m2"`, `href="/u/m51"`, `href="/u/ann?after=51"`)
	if got := profileLinks(first.body); len(got) != 50 {
		t.Errorf("first page lists %d invitees; want 50", len(got))
	}
	if strings.Contains(first.body, `href="/u/m52"`) || strings.Contains(first.body, "Previous") {
		t.Error("first page goes past 50 or offers a previous page")
	}

	second := c.get("/u/ann?after=51")
	expect(t, "second page", second, http.StatusOK, `href="/u/m52"`, `href="/u/m101"`, `href="/u/ann?before=52"`, `href="/u/ann?after=101"`)
	if got := profileLinks(second.body); len(got) != 50 {
		t.Errorf("second page lists %d invitees; want 50", len(got))
	}

	third := c.get("/u/ann?after=101")
	expect(t, "third page", third, http.StatusOK, `href="/u/m102"`, `href="/u/m121"`, `href="/u/ann?before=102"`)
	if strings.Contains(third.body, `rel="next"`) {
		t.Error("last page offers a next page")
	}

	back := c.get("/u/ann?before=102")
	expect(t, "back to the second page", back, http.StatusOK, `href="/u/m52"`, `href="/u/m101"`, `href="/u/ann?before=52"`)
	if got := profileLinks(back.body); len(got) != 50 || got[0] != "52" {
		t.Errorf("previous page lists %v", got)
	}
	backToFirst := c.get("/u/ann?before=52")
	expect(t, "back to the first page", backToFirst, http.StatusOK, `href="/u/m2"`, `href="/u/m51"`)
	if strings.Contains(backToFirst.body, `rel="prev"`) {
		t.Error("first page, reached backwards, offers a previous page")
	}
	expect(t, "junk cursor", c.get("/u/ann?after=-3&before=x"), http.StatusOK, `href="/u/m2"`)
}

// withHTTPS serves the app's store through a second router whose base URL
// is https, as behind a TLS-terminating proxy.
func withHTTPS(t *testing.T, app *testApp) http.Handler {
	t.Helper()
	sessions := handlers.NewSessionManager(handlers.HashedSessionStore(testdb.SessionStore(app.store.DB)), true)
	cfg := app.cfg
	cfg.BaseURL = "https://beckon.example"
	return handlers.New(slog.New(slog.DiscardHandler), app.store, sessions, cfg).Routes()
}

func TestHSTSOnlyUnderHTTPS(t *testing.T) {
	app := newTestApp(t)
	const want = "max-age=63072000; includeSubDomains"
	secure := withHTTPS(t, app)
	for _, path := range []string{"/", "/healthz", "/static/css/app.css", "/nowhere", "/api/v1/me"} {
		rec := httptest.NewRecorder()
		secure.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://beckon.example"+path, nil))
		if got := rec.Header().Get("Strict-Transport-Security"); got != want {
			t.Errorf("https %s: Strict-Transport-Security %q; want %q", path, got, want)
		}
	}
	c := app.client()
	for _, path := range []string{"/", "/healthz"} {
		if got := c.get(path).header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("http %s: Strict-Transport-Security %q; want none", path, got)
		}
	}
}

func TestSignedInPagesAreNotStored(t *testing.T) {
	app := newTestApp(t)
	c, _ := app.member("ann@example.com", "ann")
	for _, path := range []string{"/", "/u/ann", "/nowhere"} {
		if got := c.get(path).header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("signed in, %s: Cache-Control %q; want no-store", path, got)
		}
	}
	// Static files stay cacheable for everyone.
	if got := c.get("/static/css/app.css").header.Get("Cache-Control"); !strings.Contains(got, "max-age") {
		t.Errorf("static file signed in: Cache-Control %q", got)
	}
}

func TestStaticFoldersAreNotListed(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	for _, path := range []string{"/static/", "/static/css/", "/static/css", "/static/js/../css/"} {
		res := c.get(path)
		expect(t, path, res, http.StatusNotFound)
		if strings.Contains(res.body, `href="app.css"`) || strings.Contains(res.body, `href="css/"`) {
			t.Errorf("%s lists the folder", path)
		}
	}
	expect(t, "a file", c.get("/static/css/app.css"), http.StatusOK)
}

func TestHealthzFailsWhenTheDatabaseDoes(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	expect(t, "healthy", c.get("/healthz"), http.StatusOK, "ok")
	// A database that answers pings but cannot be read (here: its schema is
	// gone) is not healthy.
	if _, err := app.store.DB.ExecContext(context.Background(), `ALTER TABLE users RENAME TO users_gone`); err != nil {
		t.Fatal(err)
	}
	expect(t, "unreadable", c.get("/healthz"), http.StatusServiceUnavailable, "database unavailable")
	if _, err := app.store.DB.ExecContext(context.Background(), `ALTER TABLE users_gone RENAME TO users`); err != nil {
		t.Fatal(err)
	}
	expect(t, "readable again", c.get("/healthz"), http.StatusOK)
	app.store.DB.Close()
	res := c.get("/healthz")
	expect(t, "closed", res, http.StatusServiceUnavailable)
	if res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("health answer Cache-Control %q", res.header.Get("Cache-Control"))
	}
}
