package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// seedMillion adds a million members and a million invitations, each set
// with one statement (users, their allocations, the invitations over the 60
// days before the test clock's now), 5,000 members who share a prefix and
// joined last, and a signed-in staff client.
func seedMillion(b *testing.B) (*testApp, *client) {
	b.Helper()
	app := newTestApp(b)
	db := app.store.DB
	for _, q := range []string{
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000000)
		INSERT INTO users (email, email_key, username, password_hash, joined_at, email_verified_at)
		SELECT 'member' || i || '@example.com', 'member' || i || '@example.com', 'member' || i, 'x', 1700000000, 1700000000 FROM seq`,
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 5000)
		INSERT INTO users (email, email_key, username, password_hash, joined_at)
		SELECT 'zz' || i || '@example.com', 'zz' || i || '@example.com', 'zz' || i, 'x', 1700000000 FROM seq`,
		`INSERT INTO allocations (user_id, allocated, unlimited) SELECT id, id % 5, id % 10 = 0 FROM users`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000000),
		inv(i, sent) AS (SELECT i, ?1 - CASE WHEN i % 5 = 0 THEN i % 518400 ELSE i % 5184000 END FROM seq)
		INSERT INTO invitations (inviter_id, email, email_key, status, created_at, sent_at, expires_at, accepted_at)
		SELECT 1 + i % 1000000, 'friend' || i || '@example.com', 'friend' || i || '@example.com',
			CASE i % 5 WHEN 0 THEN 'pending' WHEN 1 THEN 'accepted' WHEN 2 THEN 'expired' WHEN 3 THEN 'revoked' ELSE 'joined_independently' END,
			sent, sent, sent + 604800, CASE WHEN i % 5 = 1 THEN sent + 3600 END
		FROM inv`, app.clock.Now().Unix()); err != nil {
		b.Fatal(err)
	}
	if _, err := app.store.Users.Create(context.Background(), models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true}); err != nil {
		b.Fatal(err)
	}
	c := app.client()
	c.login("boss", testPassword)
	return app, c
}

// BenchmarkStaffPages1M renders the staff pages through the real router,
// session and all, over a million members and a million invitations.
func BenchmarkStaffPages1M(b *testing.B) {
	_, c := seedMillion(b)
	for _, path := range []string{"/staff", "/staff/users", "/staff/users?after=900000",
		"/staff/users?q=member77", "/staff/users?q=m", "/staff/users?q=zz", "/staff/users?q=member5&after=member500048",
		"/staff/invitations", "/staff/invitations?status=pending", "/staff/invitations?inviter=member7&status=accepted",
		"/staff/invitations?status=expired", "/staff/invitations?before=500000", "/staff/audit"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				if res := c.get(path); res.status != http.StatusOK {
					b.Fatalf("%s: %d", path, res.status)
				}
			}
		})
	}
}
