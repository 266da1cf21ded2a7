package models_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

// composer writes minimal emails; the link placeholder is what the mail
// package's Composer uses too.
type composer struct{}

const placeholder = "BECKON-TOKEN-PLACEHOLDER"

func (composer) Confirmation(u models.User) models.Email {
	return models.Email{To: u.Email, Subject: "confirm", Text: "/confirm-email/" + placeholder}
}
func (composer) PasswordReset(u models.User) models.Email {
	return models.Email{To: u.Email, Subject: "reset", Text: "/password/reset/" + placeholder}
}
func (composer) Invitation(inv models.Invitation, inviter models.User) models.Email {
	return models.Email{To: inv.Email, Subject: inviter.Username + " invited you", Text: "/join/" + placeholder}
}
func (composer) InvitationReminder(inv models.Invitation, inviter models.User) models.Email {
	return models.Email{To: inv.Email, Subject: "Reminder: " + inviter.Username + " invited you", Text: "/join/" + placeholder}
}
func (composer) InviteeJoined(inviter, invitee models.User) models.Email {
	return models.Email{To: inviter.Email, Subject: invitee.Username + " joined", Text: "/u/" + invitee.Username}
}
func (composer) InvitationBounced(inv models.Invitation, inviter models.User) models.Email {
	return models.Email{To: inviter.Email, Subject: "bounced " + inv.Email, Text: "check the address"}
}
func (composer) RequestConfirmation(email string) models.Email {
	return models.Email{To: email, Subject: "confirm request", Text: "/request/confirm/" + placeholder}
}
func (composer) RequestDeclined(email, reason string) models.Email {
	return models.Email{To: email, Subject: "declined", Text: reason}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	t     testing.TB
	db    *sql.DB
	store *models.Store
	clock *clock
}

func newEnv(t testing.TB, tune ...func(*models.Options)) *env {
	t.Helper()
	db := testdb.Open(t, "test.db")
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	opts := models.Options{Now: clk.Now, Composer: composer{}, Argon: models.CheapArgon, DefaultAllocation: 3,
		InviteRate: 20, RecipientRate: 3}
	for _, f := range tune {
		f(&opts)
	}
	return &env{t: t, db: db, store: models.New(db, opts), clock: clk}
}

func (e *env) user(email, username string, verified bool) models.User {
	e.t.Helper()
	u, err := e.store.Users.Create(context.Background(), models.NewUser{
		Email: email, Username: username, Password: "password123", Verified: verified})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// mint plays the mail worker: it mints the tokens of every queued email and
// returns the links with their tokens, in queue order.
func (e *env) mint() []string {
	e.t.Helper()
	ctx := context.Background()
	due, err := e.store.Outbox.Due(ctx, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	minted, err := e.store.Outbox.MintTokens(ctx, due)
	if err != nil {
		e.t.Fatal(err)
	}
	var links []string
	var attempts []models.Attempt
	for _, m := range minted {
		links = append(links, strings.ReplaceAll(m.Email.Text, placeholder, m.Token))
		attempts = append(attempts, models.Attempt{ID: m.ID})
	}
	if err := e.store.Outbox.RecordAttempts(ctx, attempts); err != nil {
		e.t.Fatal(err)
	}
	return links
}

func tokenOf(link string) string { return link[strings.LastIndexByte(link, '/')+1:] }

func TestMigrateTwiceIsSafe(t *testing.T) {
	e := newEnv(t)
	applied, err := models.Migrate(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("second Migrate applied %v; want nothing", applied)
	}
	e.user("a@example.com", "aaa", true)
	if _, err := models.Migrate(context.Background(), e.db); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.store.Users.Any(context.Background()); !ok {
		t.Error("data lost by a second Migrate")
	}
}

func TestConfirmationTokenIsStoredOnlyHashedAndSingleUse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.user("new@example.com", "newbie", false)
	links := e.mint()
	if len(links) != 1 {
		t.Fatalf("got %d emails; want 1", len(links))
	}
	token := tokenOf(links[0])
	if len(token) != 43 {
		t.Fatalf("token %q is not 32 bytes of base64url", token)
	}
	assertNoRawToken(t, e.db, token)

	if email, err := e.store.Users.CheckConfirmToken(ctx, token); err != nil || email != "new@example.com" {
		t.Fatalf("fresh token: %q, %v; want the address it confirms, new@example.com", email, err)
	}
	if _, err := e.store.Users.ConfirmEmail(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Users.ConfirmEmail(ctx, token); err != models.ErrTokenUsed {
		t.Errorf("second use: %v; want ErrTokenUsed", err)
	}
	// Change the first character to one it is not: "x"+token[1:] is the
	// token itself once in 64 runs.
	altered := "x" + token[1:]
	if token[0] == 'x' {
		altered = "y" + token[1:]
	}
	if _, err := e.store.Users.ConfirmEmail(ctx, altered); err != models.ErrTokenUnknown {
		t.Errorf("altered token: %v; want ErrTokenUnknown", err)
	}
}

func TestExpiredResetTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.user("ann@example.com", "ann", true)
	if err := e.store.Users.RequestPasswordReset(ctx, "ANN@example.com"); err != nil {
		t.Fatal(err)
	}
	token := tokenOf(e.mint()[0])
	e.clock.Advance(time.Hour)
	if _, err := e.store.Users.ResetPassword(ctx, token, "new password!"); err != models.ErrTokenExpired {
		t.Errorf("reset after an hour: %v; want ErrTokenExpired", err)
	}
}

// assertNoRawToken searches every text column of every table for token.
func assertNoRawToken(t *testing.T, db *sql.DB, token string) {
	t.Helper()
	// Every column of every table, with its type, from the engine's catalog.
	listing := `SELECT m.name, c.name, c.type FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table'`
	pg := models.EngineOf(db) == models.Postgres
	if pg {
		listing = `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'`
	}
	rows, err := db.Query(listing)
	if err != nil {
		t.Fatal(err)
	}
	type column struct{ table, name, typ string }
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name, &c.typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	searched := 0
	for _, c := range cols {
		table, col := c.table, c.name
		{
			var n int
			cond := models.EngineOf(db).Contains(`CAST("`+col+`" AS TEXT)`, "?")
			if pg && c.typ == "bytea" {
				cond = `position(convert_to(?, 'UTF8') IN "` + col + `") > 0`
			}
			q := `SELECT count(*) FROM "` + table + `" WHERE ` + cond
			if err := db.QueryRow(q, token).Scan(&n); err != nil {
				t.Fatal(err)
			}
			searched++
			if n > 0 {
				t.Errorf("raw token found in %s.%s", table, col)
			}
		}
	}
	if searched < 20 {
		t.Fatalf("searched only %d columns", searched)
	}
}

// A join hashes its password before it reaches the writer: while its hash
// is held in the middle, an unrelated write goes through, and the join
// still completes once the hash does.
func TestJoinHashesOutsideTheWriter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "bob@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	token := tokenOf(e.mint()[0])
	hashing, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	models.SetArgonHook(e.store, func() {
		once.Do(func() { close(hashing) })
		<-release
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	joined := make(chan error, 1)
	go func() {
		_, _, err := e.store.Invitations.Join(ctx, token, models.NewUser{
			Email: "bob@example.com", Username: "bob", Password: "password123"})
		joined <- err
	}()
	waitOrFail(t, "the join to start hashing", hashing)
	other := make(chan error, 1)
	go func() { other <- e.store.Users.SetName(ctx, ann.ID, "Ann") }()
	select {
	case err := <-other:
		if err != nil {
			t.Fatalf("unrelated write: %v", err)
		}
	case err := <-joined:
		t.Fatalf("the join returned (%v) while its hash was held", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the unrelated write waited for the join's hash")
	}
	close(release)
	if err := <-joined; err != nil {
		t.Fatalf("join: %v", err)
	}
	if u, err := e.store.Users.GetByUsername(ctx, "bob"); err != nil || u.InvitedBy != ann.ID {
		t.Errorf("bob = %+v, %v; want him invited by ann", u, err)
	}
}

// A taken username or email is refused before any argon2 work, so replaying
// one costs the server no hash; the link stays usable.
func TestTakenNameCostsNoHash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "bob@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	token := tokenOf(e.mint()[0])
	var hashes atomic.Int32
	models.SetArgonHook(e.store, func() { hashes.Add(1) })
	for _, tc := range []struct {
		name string
		try  func() error
		want error
	}{
		{"join as the inviter's username", func() error {
			_, _, err := e.store.Invitations.Join(ctx, token, models.NewUser{Email: "bob@example.com", Username: "ANN", Password: "password123"})
			return err
		}, models.ErrDuplicateUsername},
		{"join with a member's address", func() error {
			_, _, err := e.store.Invitations.Join(ctx, token, models.NewUser{Email: " Ann@Example.com", Username: "bob", Password: "password123"})
			return err
		}, models.ErrDuplicateEmail},
		{"api join as a taken username", func() error {
			_, _, err := e.store.Invitations.JoinSettingPassword(ctx, token, models.NewUser{Username: "ann", Password: "password123"})
			return err
		}, models.ErrDuplicateUsername},
		{"signup with a taken username", func() error {
			_, err := e.store.Users.Create(ctx, models.NewUser{Email: "cid@example.com", Username: "ann", Password: "password123"})
			return err
		}, models.ErrDuplicateUsername},
		{"setup once done", func() error {
			_, err := e.store.Users.CreateFirst(ctx, models.NewUser{Email: "cid@example.com", Username: "cid", Password: "password123"})
			return err
		}, models.ErrSetupDone},
	} {
		if err := tc.try(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
	}
	if n := hashes.Load(); n != 0 {
		t.Errorf("%d argon2 computations for refused accounts; want 0", n)
	}
	if _, _, err := e.store.Invitations.Join(ctx, token, models.NewUser{Email: "bob@example.com", Username: "bob", Password: "password123"}); err != nil {
		t.Fatalf("join after the refusals: %v", err)
	}
	if n := hashes.Load(); n != 1 {
		t.Errorf("%d argon2 computations for one join; want 1", n)
	}
}

// waitOrFail waits for ch to close, failing the test after 10 s.
func waitOrFail(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
