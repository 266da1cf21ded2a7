package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// seedMillion adds a million members with two statements (users, then their
// allocations), and a signed-in staff client.
func seedMillion(b *testing.B) (*testApp, *client) {
	b.Helper()
	app := newTestApp(b)
	db := app.store.DB
	if _, err := db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000000)
		INSERT INTO users (email, email_key, username, password_hash, joined_at, email_verified_at)
		SELECT 'member' || i || '@example.com', 'member' || i || '@example.com', 'member' || i, 'x', 1700000000, 1700000000 FROM seq`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO allocations (user_id, allocated, unlimited) SELECT id, id % 5, id % 10 = 0 FROM users`); err != nil {
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
// session and all, over a million members.
func BenchmarkStaffPages1M(b *testing.B) {
	_, c := seedMillion(b)
	for _, path := range []string{"/staff", "/staff/users", "/staff/users?q=member77", "/staff/users?q=m", "/staff/users?after=900000"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				if res := c.get(path); res.status != http.StatusOK {
					b.Fatalf("%s: %d", path, res.status)
				}
			}
		})
	}
}
