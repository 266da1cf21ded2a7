package models_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/beckon-app/beckon/migrations"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

// TestMigration0013KeepsData applies the migrations before 0013 to a new
// database, fills it as the app would (an invitation whose link was
// replaced, ended ones, the dashboard's totals), then migrates the rest:
// every row, replaced link and total survives, and declined now fits.
func TestMigration0013KeepsData(t *testing.T) {
	testdb.SQLiteOnly(t, "replays the SQLite migrations on a file")
	ctx := context.Background()
	db, err := models.Open(filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	names, _ := fs.Glob(migrations.Files, "*.sql")
	sort.Strings(names)
	if _, err := db.Exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if name >= "0013" {
			break
		}
		body, _ := fs.ReadFile(migrations.Files, name)
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, name); err != nil {
			t.Fatal(err)
		}
	}
	day := int64(20000 * 86400)
	for _, q := range []string{
		`INSERT INTO users (id, email, email_key, username, password_hash, joined_at) VALUES (1, 'a@x.com', 'a@x.com', 'aaa', 'h', 0), (2, 'b@x.com', 'b@x.com', 'bbb', 'h', 0)`,
		`INSERT INTO allocations (user_id, allocated, held) VALUES (1, 5, 2), (2, 0, 0)`,
		`INSERT INTO outbox (id, kind, to_addr, to_key, subject, text_body, next_attempt_at, created_at) VALUES (7, 'invitation', 'c@x.com', 'c@x.com', 's', 't', 0, 0)`,
		`INSERT INTO invitations (id, inviter_id, email, email_key, created_at, sent_at, expires_at, token_hash, outbox_id) VALUES (1, 1, 'c@x.com', 'c@x.com', ?1, ?1, ?1 + 86400, x'01', 7)`,
		`INSERT INTO invitations (id, inviter_id, email, email_key, status, created_at, sent_at, expires_at, revoked_at, ended_at) VALUES (2, 1, 'd@x.com', 'd@x.com', 'pending', ?1, ?1, ?1 + 86400, NULL, NULL)`,
		`UPDATE invitations SET status = 'revoked', revoked_at = ?1 + 10, ended_at = ?1 + 10 WHERE id = 2`,
		`INSERT INTO invitations (id, inviter_id, email, email_key, status, created_at, sent_at, expires_at, accepted_at, ended_at, invitee_id) VALUES (3, 1, 'b@x.com', 'b@x.com', 'pending', ?1, ?1, ?1 + 86400, NULL, NULL, NULL)`,
		`UPDATE invitations SET status = 'accepted', accepted_at = ?1 + 20, ended_at = ?1 + 20, invitee_id = 2 WHERE id = 3`,
		`INSERT INTO replaced_tokens (token_hash, invitation_id, replaced_at) VALUES (x'02', 1, ?1)`,
	} {
		if _, err := db.Exec(q, day); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	days := func() string {
		var s string
		if err := db.QueryRow(`SELECT group_concat(day || ':' || sent || ',' || accepted || ',' || revoked, ' ') FROM invitation_days`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := days()

	applied, err := models.Migrate(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != "0013_moderation" {
		t.Errorf("applied %v; want 0013_moderation first", applied)
	}
	var n, replaced, fkProblems int
	if err := db.QueryRow(`SELECT count(*) FROM invitations`).Scan(&n); err != nil || n != 3 {
		t.Errorf("invitations after: %d, %v; want 3", n, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM replaced_tokens WHERE invitation_id = 1`).Scan(&replaced); err != nil || replaced != 1 {
		t.Errorf("replaced tokens after: %d, %v; want 1", replaced, err)
	}
	rows, err := db.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		fkProblems++
	}
	rows.Close()
	if fkProblems != 0 {
		t.Errorf("%d foreign key problems after the migration", fkProblems)
	}
	if after := days(); after != before {
		t.Errorf("daily totals %q after; want %q as before", after, before)
	}
	var outbox sql.NullInt64
	if err := db.QueryRow(`SELECT outbox_id FROM invitations WHERE id = 1 AND token_hash = x'01'`).Scan(&outbox); err != nil || outbox.Int64 != 7 {
		t.Errorf("invitation 1 after: outbox %v, %v", outbox, err)
	}
	// The new status fits, and the triggers count it.
	if _, err := db.Exec(`UPDATE invitations SET status = 'declined', ended_at = ? WHERE id = 1`, day+30); err != nil {
		t.Fatalf("declined refused: %v", err)
	}
	var declined int
	if err := db.QueryRow(`SELECT declined FROM invitation_days WHERE day = ?`, day/86400).Scan(&declined); err != nil || declined != 1 {
		t.Errorf("declined that day: %d, %v; want 1", declined, err)
	}
	if _, err := db.Exec(`UPDATE invitations SET status = 'maybe' WHERE id = 1`); err == nil {
		t.Error("a status outside the list was accepted")
	}
}

func TestEarnedInvitationsOncePerInvitee(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.EarnAfter = 30 * 24 * time.Hour; o.EarnAmount = 2; o.DefaultAllocation = 1 })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	join := func(email, username string) models.User {
		t.Helper()
		if _, _, err := e.store.Invitations.Create(ctx, ann.ID, email, "", 0); err != nil {
			t.Fatal(err)
		}
		links := e.mint()
		u, _, err := e.store.Invitations.Join(ctx, tokenOf(links[len(links)-1]), models.NewUser{Email: email, Username: username, Password: "password123"})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	join("bob@example.com", "bob")
	e.store.Staff.AddToUser(ctx, 0, ann.ID, 1)
	e.clock.Advance(24 * time.Hour)
	cat := join("cat@example.com", "cat")
	// Suspended and unsuspended again by staff: never in good standing since.
	if _, err := e.store.Staff.Suspend(ctx, ann.ID, cat.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Staff.Unsuspend(ctx, ann.ID, cat.ID, ""); err != nil {
		t.Fatal(err)
	}
	allocated := func() int {
		a, err := e.store.Users.Allocation(ctx, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a.Allocated
	}
	start := allocated()

	e.clock.Advance(29 * 24 * time.Hour) // bob: 30 days a member; cat: 29
	got, err := e.store.Invitations.EarnDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Invitees != 1 || got.Inviters != 1 || allocated() != start+2 {
		t.Errorf("after 30 days: %+v, allocated %d; want 1 invitee, 1 inviter, %d", got, allocated(), start+2)
	}
	if got, _ := e.store.Invitations.EarnDue(ctx); got.Invitees != 0 || allocated() != start+2 {
		t.Errorf("second run: %+v, allocated %d; want nothing more", got, allocated())
	}
	e.clock.Advance(48 * time.Hour) // cat is old enough, but was suspended
	if got, _ := e.store.Invitations.EarnDue(ctx); got.Invitees != 0 || allocated() != start+2 {
		t.Errorf("suspended invitee: %+v, allocated %d; want nothing", got, allocated())
	}
	var audits, events int
	e.db.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'earned' AND target_id = ? AND amount = 2`, ann.ID).Scan(&audits)
	e.db.QueryRow(`SELECT count(*) FROM events WHERE kind = 'invitations_earned'`).Scan(&events)
	if audits != 1 || events != 1 {
		t.Errorf("audit rows %d, events %d; want 1 and 1", audits, events)
	}
}

func TestEarnedInvitationsOffByDefault(t *testing.T) {
	e := newEnv(t)
	got, err := e.store.Invitations.EarnDue(context.Background())
	if err != nil || got != (models.Earned{}) {
		t.Errorf("EarnDue with EarnAfter 0: %+v, %v", got, err)
	}
}

func TestRefusalsComeAfterTheDuplicateCheck(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.InviteMinAge = time.Hour })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	e.clock.Advance(2 * time.Hour)
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "x@spam.example", "", 0); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Settings.Save(ctx, 0, models.SiteSettings{BlockedDomains: []string{"spam.example"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "x@spam.example", "", 0); !errors.Is(err, models.ErrAlreadyInvited) {
		t.Errorf("duplicate to a blocked domain: %v; want ErrAlreadyInvited first", err)
	}
	_, _, err := e.store.Invitations.Create(ctx, ann.ID, "y@a.spam.example", "", 0)
	if blocked, ok := models.AsError(err); !errors.Is(err, models.ErrDomainBlocked) || !ok || blocked.Facts.Domain != "spam.example" {
		t.Errorf("subdomain: %v; want blocked spam.example", err)
	}
	newbie := e.user("new@example.com", "newbie", true)
	_, _, err = e.store.Invitations.Create(ctx, newbie.ID, "ann@example.com", "", 0)
	if !errors.Is(err, models.ErrAlreadyMember) {
		t.Errorf("too new, to a member: %v; want ErrAlreadyMember first", err)
	}
	_, _, err = e.store.Invitations.Create(ctx, newbie.ID, "z@example.com", "", 0)
	if tooNew, ok := models.AsError(err); !errors.Is(err, models.ErrTooNew) || !ok || !tooNew.Facts.Date.Equal(newbie.JoinedAt.Add(time.Hour)) {
		t.Errorf("too new: %v; want from %v", err, newbie.JoinedAt.Add(time.Hour))
	}
}
