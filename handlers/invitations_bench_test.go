package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkInvitationCreatePost sends invitations through the real router
// over loopback: session, CSRF check, checks, transaction, outbox, event and
// the htmx fragments of the answer.
func BenchmarkInvitationCreatePost(b *testing.B) {
	app := newTestApp(b, withAllocation(-1), withRates(0, 0))
	c, _ := app.member("ann@example.com", "ann")
	i := 0
	for b.Loop() {
		i++
		res := c.post("/invitations", url.Values{"email": {fmt.Sprintf("friend%d@example.com", i)}, "note": {"Come and see"}}, htmx...)
		if res.status != http.StatusOK {
			b.Fatalf("status %d", res.status)
		}
	}
}

// seedInvitations gives the user n invitations with one statement.
func seedInvitations(b *testing.B, app *testApp, inviterID int64, n int) {
	b.Helper()
	if _, err := app.store.DB.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?2)
		INSERT INTO invitations (inviter_id, email, email_key, note, status, created_at, sent_at, expires_at)
		SELECT ?1, 'friend' || i || '@example.com', 'friend' || i || '@example.com', 'A note for friend ' || i,
			CASE i % 4 WHEN 0 THEN 'accepted' WHEN 1 THEN 'revoked' ELSE 'pending' END, 1790000000 + i, 1790000000 + i, 1900000000
		FROM seq`, inviterID, n); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkInvitePanel1000 renders the home page of a member who sent 1,000
// invitations, through the real router.
func BenchmarkInvitePanel1000(b *testing.B) {
	app := newTestApp(b, withAllocation(-1))
	c, ann := app.member("ann@example.com", "ann")
	seedInvitations(b, app, ann.ID, 1000)
	for b.Loop() {
		if res := c.get("/"); res.status != http.StatusOK {
			b.Fatalf("status %d", res.status)
		}
	}
}

// BenchmarkTree100k renders /tree for 100,000 members, each invited by an
// earlier one (three invitees each, breadth first).
func BenchmarkTree100k(b *testing.B) {
	app := newTestApp(b)
	c, _ := app.member("root@example.com", "root")
	if _, err := app.store.DB.Exec(`WITH RECURSIVE seq(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM seq WHERE i < 100000)
		INSERT INTO users (id, email, email_key, username, password_hash, joined_at, invited_by)
		SELECT i, 'm' || i || '@example.com', 'm' || i || '@example.com', 'm' || i, 'x', 1700000000, (i + 1) / 3 FROM seq`); err != nil {
		b.Fatal(err)
	}
	if _, err := app.store.DB.Exec(`INSERT INTO allocations (user_id) SELECT id FROM users WHERE id > 1`); err != nil {
		b.Fatal(err)
	}
	var n int
	app.store.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM users`).Scan(&n)
	if n != 100000 {
		b.Fatalf("%d members", n)
	}
	b.ResetTimer()
	for b.Loop() {
		if res := c.get("/tree"); res.status != http.StatusOK {
			b.Fatalf("status %d", res.status)
		}
	}
}
