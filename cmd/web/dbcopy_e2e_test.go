package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/pgtest"
	"github.com/beckon-app/beckon/models/testdb"
)

// captured records the emails a Deliverer sends.
type captured struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (c *captured) Send(_ context.Context, m mail.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	return nil
}

// joinToken is the token of the latest invitation link mailed to addr.
func (c *captured) joinToken(t *testing.T, addr string) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	re := regexp.MustCompile(`/join/([A-Za-z0-9_-]{43})\b`)
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(c.msgs[i].Text); m != nil && c.msgs[i].To == addr {
			return m[1]
		}
	}
	t.Fatalf("no invitation mailed to %s", addr)
	return ""
}

// `beckon db copy` end to end: a SQLite database with members, a session,
// invitations of every status, sent and queued emails, the audit log and
// events is copied into PostgreSQL; a server there shows the same
// counters, sent list and tree as the server on SQLite did, and the
// session signed in on SQLite still works.
func TestDBCopyEndToEnd(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("PostgreSQL only: runs in the PostgreSQL run (BECKON_TEST_ENGINE=postgres)")
	}
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "beckon")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "beckon.db")
	seedEveryStatus(ctx, t, src)

	liteEnv := []string{"BECKON_DB=" + src, "BECKON_ADDR=127.0.0.1:0", "BECKON_BASE_URL=http://beckon.test"}
	pages := []string{"/staff", "/invitations", "/tree", "/u/ann"}
	lite := startServer(ctx, t, bin, liteEnv)
	admin, ann := signIn(t, lite.url, "admin"), signIn(t, lite.url, "ann")
	before := map[string]string{}
	for _, p := range pages {
		before[p] = pageBody(t, adminOrAnn(p, admin, ann), lite.url+p)
	}
	lite.stop(t)

	to := pgtest.URL(t, testdb.Migrate)
	cmd := exec.CommandContext(ctx, bin, "db", "copy", "--to", to)
	cmd.Env = liteEnv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("beckon db copy: %v\n%s", err, out)
	} else if !bytes.Contains(out, []byte("copied ")) {
		t.Errorf("db copy said %q", out)
	}

	// No shareable link was made on SQLite, so any secret does.
	pg := startServer(ctx, t, bin, []string{"BECKON_DB=" + to, "BECKON_ADDR=127.0.0.1:0", "BECKON_BASE_URL=http://beckon.test",
		"BECKON_SECRET=" + testSecret})
	defer pg.stop(t)
	for _, p := range pages {
		if got := pageBody(t, adminOrAnn(p, admin, ann), pg.url+p); got != before[p] {
			t.Errorf("%s differs after the copy:\n--- SQLite\n%s\n--- PostgreSQL\n%s", p, before[p], got)
		}
	}
	// The key came over: the same keyed change again answers as the first
	// did and changes nothing.
	pgdb, err := models.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	defer pgdb.Close()
	store := models.New(pgdb, models.Options{Argon: models.CheapArgon})
	defer store.Close()
	adminUser, err1 := store.Users.GetByUsername(ctx, "admin")
	ben, err2 := store.Users.GetByUsername(ctx, "ben")
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if n, err := store.Staff.Keyed("seed-key").AddToUser(ctx, adminUser.ID, ben.ID, 3); err != nil || n != 1 {
		t.Errorf("the seed's keyed change again on PostgreSQL: %d, %v; want its first answer (1)", n, err)
	}
	if after, _ := store.Users.GetByUsername(ctx, "ben"); after.Allocation != ben.Allocation {
		t.Errorf("ben's allocation %+v after the keyed change again; want %+v", after.Allocation, ben.Allocation)
	}
	for _, want := range []string{"pend@example.com", "rev@example.com", "exp@example.com", "dec@example.com", "bob@example.com", "carl@example.com"} {
		if !strings.Contains(before["/invitations"], want) {
			t.Errorf("the sent list lacks %s", want)
		}
	}
}

func adminOrAnn(page string, admin, ann *http.Client) *http.Client {
	if strings.HasPrefix(page, "/staff") {
		return admin
	}
	return ann
}

// pageBody gets url with client (signed in: a redirect fails the test) and
// returns its body.
func pageBody(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d (the session did not carry over?)", url, resp.StatusCode)
	}
	// The staff forms' idempotency keys are new on every render.
	return formKeys.ReplaceAllString(string(body), `name="idempotency_key" value="…"`)
}

var formKeys = regexp.MustCompile(`name="idempotency_key" value="[^"]*"`)

// seedEveryStatus makes the SQLite database at path: admin (staff), ann,
// ben, and ann's invitations pending, revoked, expired, declined, accepted
// (bob) and joined independently (carl, through ben's), with their emails
// sent but one queued.
func seedEveryStatus(ctx context.Context, t *testing.T, path string) {
	t.Helper()
	db, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := models.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	store := models.New(db, models.Options{Argon: models.CheapArgon, DefaultAllocation: 10,
		Composer: mail.Composer{SiteName: "Beckon", BaseURL: "http://beckon.test"}})
	defer store.Close()
	sent := &captured{}
	deliverer := mail.NewDeliverer(store.Outbox, sent, slog.New(slog.NewTextHandler(io.Discard, nil)), mail.DelivererOptions{})
	deliver := func() {
		t.Helper()
		if _, err := deliverer.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	user := func(name string, staff bool) models.User {
		t.Helper()
		u, err := store.Users.Create(ctx, models.NewUser{Email: name + "@example.com", Username: name,
			Password: "a long password", Verified: true, Staff: staff})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	admin, ann, ben := user("admin", true), user("ann", false), user("ben", false)
	invite := func(from models.User, email string, expiresIn time.Duration) models.Invitation {
		t.Helper()
		inv, _, err := store.Invitations.Create(ctx, from.ID, email, "", expiresIn)
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	invite(ann, "pend@example.com", 0)
	rev := invite(ann, "rev@example.com", 0)
	invite(ann, "exp@example.com", time.Second)
	invite(ann, "dec@example.com", 0)
	invite(ann, "bob@example.com", 0)
	invite(ann, "carl@example.com", 0)
	invite(ben, "carl@example.com", 0)
	deliver()
	if _, err := store.Invitations.Revoke(ctx, ann.ID, rev.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Invitations.Decline(ctx, sent.joinToken(t, "dec@example.com")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Invitations.Join(ctx, sent.joinToken(t, "bob@example.com"),
		models.NewUser{Email: "bob@example.com", Username: "bob", Password: "a long password"}); err != nil {
		t.Fatal(err)
	}
	// carl joins through ben's link, which he got last: ann's ends as joined independently.
	if _, _, err := store.Invitations.Join(ctx, sent.joinToken(t, "carl@example.com"),
		models.NewUser{Email: "carl@example.com", Username: "carl", Password: "a long password"}); err != nil {
		t.Fatal(err)
	}
	// Under an idempotency key, which the copy must carry over.
	if _, err := store.Staff.Keyed("seed-key").AddToUser(ctx, admin.ID, ben.ID, 3); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := store.Invitations.ExpireDue(ctx); err != nil || n != 1 {
		t.Fatalf("expired %d (%v); want 1", n, err)
	}
	var statuses int
	if err := db.QueryRow(`SELECT count(DISTINCT status) FROM invitations`).Scan(&statuses); err != nil || statuses != 6 {
		t.Fatalf("%d statuses (%v); want all 6", statuses, err)
	}
	invite(ben, "queued@example.com", 0) // left in the outbox
}
