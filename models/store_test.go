package models_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
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
	db, err := models.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := models.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
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

	if err := e.store.Users.CheckConfirmToken(ctx, token); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	if _, err := e.store.Users.ConfirmEmail(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Users.ConfirmEmail(ctx, token); err != models.ErrTokenUsed {
		t.Errorf("second use: %v; want ErrTokenUsed", err)
	}
	if _, err := e.store.Users.ConfirmEmail(ctx, "x"+token[1:]); err != models.ErrTokenUnknown {
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
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	searched := 0
	for _, table := range names {
		cols, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		var colNames []string
		for cols.Next() {
			var c string
			cols.Scan(&c)
			colNames = append(colNames, c)
		}
		cols.Close()
		for _, col := range colNames {
			var n int
			q := `SELECT count(*) FROM "` + table + `" WHERE instr(CAST("` + col + `" AS TEXT), ?) > 0`
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
