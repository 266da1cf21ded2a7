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

// seedInvitations inserts n invitations with one statement, from the first
// million users, spread over the 60 days before now: a fifth in each status,
// the accepted ones accepted an hour after they were sent, the pending ones
// sent in the last 6 days (older ones the sweep would have ended).
func seedInvitations(tb testing.TB, db *sql.DB, n int, now int64) {
	tb.Helper()
	_, err := db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1),
		inv(i, sent) AS (SELECT i, ?2 - CASE WHEN i % 5 = 0 THEN i % 518400 ELSE i % 5184000 END FROM seq)
		INSERT INTO invitations (inviter_id, email, email_key, status, created_at, sent_at, expires_at, accepted_at)
		SELECT 1 + i % 1000000, 'friend' || i || '@example.com', 'friend' || i || '@example.com',
			CASE i % 5 WHEN 0 THEN 'pending' WHEN 1 THEN 'accepted' WHEN 2 THEN 'expired' WHEN 3 THEN 'revoked' ELSE 'joined_independently' END,
			sent, sent, sent + 604800, CASE WHEN i % 5 = 1 THEN sent + 3600 END
		FROM inv`, n, now)
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

// BenchmarkStats1M computes the dashboard's totals over a million users and
// a million invitations.
func BenchmarkStats1M(b *testing.B) {
	e := newEnv(b)
	seedMembers(b, e.db, 1_000_000)
	seedInvitations(b, e.db, 1_000_000, e.clock.Now().Unix())
	b.ResetTimer()
	for b.Loop() {
		st, err := e.store.Staff.Stats(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if st.Sent != 1_000_000 {
			b.Fatalf("sent %d", st.Sent)
		}
	}
}

// BenchmarkListUsers1M reads a page of users, plain and searched, out of a
// million, and a search whose 5,000 matches all joined last.
func BenchmarkListUsers1M(b *testing.B) {
	e := newEnv(b)
	seedMembers(b, e.db, 1_000_000)
	seedLateJoiners(b, e.db, 5000)
	for _, tc := range []struct{ name, q, after string }{
		{"first page", "", ""}, {"page at 900000", "", "900000"},
		{"prefix member12345", "member12345", ""}, {"prefix m", "m", ""}, {"prefix member5 page 2", "member5", "member500048"},
		{"prefix zz joined last", "zz", ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				users, _, err := e.store.Staff.ListUsers(context.Background(), models.UserFilter{Query: tc.q, After: tc.after, PerPage: 50})
				if err != nil || len(users) == 0 {
					b.Fatal(len(users), err)
				}
			}
		})
	}
}

// seedLateJoiners adds n users whose usernames and addresses share the
// prefix "zz" and who joined after everyone else: the case where walking
// users in id order would read a million rows before the first match.
func seedLateJoiners(tb testing.TB, db *sql.DB, n int) {
	tb.Helper()
	for _, q := range []string{
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO users (email, email_key, username, password_hash, joined_at)
		SELECT 'zz' || i || '@example.com', 'zz' || i || '@example.com', 'zz' || i, 'x', 1700000000 FROM seq`,
		`INSERT INTO allocations (user_id) SELECT id FROM users WHERE username >= 'zz' AND username < 'zz~'`,
	} {
		if _, err := db.Exec(q, n); err != nil {
			tb.Fatal(err)
		}
	}
}
