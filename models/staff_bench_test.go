package models_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// seedMembers inserts n users with one statement (a recursive CTE), with
// realistic password hashes, and their allocations with a second: small
// allocations, a tenth unlimited, a quarter holding one.
func seedMembers(tb testing.TB, db *sql.DB, n int) {
	tb.Helper()
	_, err := db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO users (email, email_key, username, password_hash, joined_at, email_verified_at)
		SELECT 'member' || i || '@example.com', 'member' || i || '@example.com', 'member' || i,
			'$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$Y2hlY2tjaGVja2NoZWNrY2hlY2tjaGVja2NoZWNrY2g', 1700000000, 1700000000
		FROM seq`, n)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = db.Exec(`INSERT INTO allocations (user_id, allocated, unlimited, held)
		SELECT id, id % 4, id % 10 = 0, CASE WHEN id % 3 = 0 AND id % 4 > 0 THEN 1 ELSE 0 END
		FROM users WHERE id NOT IN (SELECT user_id FROM allocations)`)
	if err != nil {
		tb.Fatal(err)
	}
}

func benchStaff(b *testing.B, op func(s *models.Staff, i int) (int, error)) {
	e := newEnv(b)
	seedMembers(b, e.db, 1_000_000)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		n, err := op(e.store.Staff, i)
		if err != nil {
			b.Fatal(err)
		}
		if n < 800_000 {
			b.Fatalf("changed only %d users", n)
		}
	}
}

// BenchmarkTopOffAll1M tops off a million users; each run raises the target
// so that every limited user changes every time.
func BenchmarkTopOffAll1M(b *testing.B) {
	benchStaff(b, func(s *models.Staff, i int) (int, error) { return s.TopOffAll(context.Background(), 0, 10+i) })
}

// BenchmarkAddToAll1M adds one invitation to a million users.
func BenchmarkAddToAll1M(b *testing.B) {
	benchStaff(b, func(s *models.Staff, i int) (int, error) { return s.AddToAll(context.Background(), 0, 1, false) })
}

// BenchmarkStats1M computes the dashboard's totals over a million users.
func BenchmarkStats1M(b *testing.B) {
	e := newEnv(b)
	seedMembers(b, e.db, 1_000_000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.store.Staff.Stats(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListUsers1M reads a page of users, plain and searched, out of a million.
func BenchmarkListUsers1M(b *testing.B) {
	e := newEnv(b)
	seedMembers(b, e.db, 1_000_000)
	for _, tc := range []struct{ name, q string }{{"first page", ""}, {"prefix member12345", "member12345"}, {"prefix m", "m"}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				users, _, err := e.store.Staff.ListUsers(context.Background(), models.UserFilter{Query: tc.q, PerPage: 50})
				if err != nil || len(users) == 0 {
					b.Fatal(len(users), err)
				}
			}
		})
	}
}
