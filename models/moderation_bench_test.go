package models_test

import (
	"context"
	"database/sql"
	"syscall"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
)

// seedSubtree makes n members in one statement, as one tree under the
// first (member i invited by member i/2, so about 17 levels for 100,000),
// each with an allocation of 2, and every pendingEvery-th of them with one
// pending invitation.
func seedSubtree(tb testing.TB, db *sql.DB, n int, now int64, pendingEvery int) {
	tb.Helper()
	for _, q := range []string{
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
		INSERT INTO users (id, email, email_key, username, password_hash, joined_at, email_verified_at, invited_by)
		SELECT i, 'member' || i || '@example.com', 'member' || i || '@example.com', 'member' || i,
			'$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$Y2hlY2tjaGVja2NoZWNrY2hlY2tjaGVja2NoZWNrY2g', 1700000000, 1700000000,
			nullif(i / 2, 0)
		FROM seq`,
		`INSERT INTO allocations (user_id, allocated, held) SELECT id, 2, id % ?3 = 0 FROM users WHERE ?1 > 0`,
		`INSERT INTO invitations (inviter_id, email, email_key, created_at, sent_at, expires_at)
		SELECT id, 'friend' || id || '@example.com', 'friend' || id || '@example.com', ?2, ?2, ?2 + 604800 FROM users WHERE id % ?3 = 0 AND ?1 > 0`,
	} {
		if _, err := db.Exec(q, n, now, pendingEvery); err != nil {
			tb.Fatal(err)
		}
	}
}

// resetSubtree undoes a subtree action, outside the timer.
func resetSubtree(b *testing.B, db *sql.DB) {
	b.Helper()
	for _, q := range []string{
		`DELETE FROM moderation`,
		`UPDATE invitations SET status = 'pending', revoked_at = NULL, ended_at = NULL WHERE status <> 'pending'`,
		`UPDATE allocations SET held = (SELECT count(*) FROM invitations WHERE inviter_id = user_id)`,
		`UPDATE api_tokens SET revoked_at = NULL`,
		`DELETE FROM events`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
}

const subtreeMembers = 100_000

// benchSubtree runs act on a subtree of 100,000 members, every pendingEvery-th
// holding a pending invitation, and checks it changed wantMembers members and
// every pending invitation. With reset, the changes of the last run are
// undone first, outside the timer.
func benchSubtree(b *testing.B, reset bool, pendingEvery, wantMembers int, act func(s *models.Staff) (int, int, error)) {
	e := newEnv(b)
	seedSubtree(b, e.db, subtreeMembers, e.clock.Now().Unix(), pendingEvery)
	// The machine is shared: besides the wall time, report the CPU time
	// the process spent, which other work on the machine does not inflate.
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if reset {
			resetSubtree(b, e.db)
		}
		before := cpuTime()
		b.StartTimer()
		members, invitations, err := act(e.store.Staff)
		b.StopTimer()
		cpu += cpuTime() - before
		b.StartTimer()
		if err != nil {
			b.Fatal(err)
		}
		if members != wantMembers || invitations != subtreeMembers/pendingEvery {
			b.Fatalf("changed %d members and %d invitations; want %d and %d", members, invitations, wantMembers, subtreeMembers/pendingEvery)
		}
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func suspendSubtree(s *models.Staff) (int, int, error) {
	res, err := s.SuspendSubtree(context.Background(), 0, 1, "benchmark")
	return res.UsersChanged, res.InvitationsRevoked, err
}

func revokeSubtree(s *models.Staff) (int, int, error) {
	res, err := s.RevokeSubtree(context.Background(), 0, 1, "benchmark")
	return res.UsersChanged, res.InvitationsRevoked, err
}

// BenchmarkSubtreePreview100k counts what suspending a subtree of 100,000
// members, each with a pending invitation, would change.
func BenchmarkSubtreePreview100k(b *testing.B) {
	benchSubtree(b, false, 1, subtreeMembers, func(s *models.Staff) (int, int, error) {
		p, err := s.PreviewSubtree(context.Background(), 0, 1, models.SubtreeSuspend)
		return p.Members, p.Invitations, err
	})
}

// BenchmarkSubtreeStats100k measures the subtree for the staff user page.
func BenchmarkSubtreeStats100k(b *testing.B) {
	benchSubtree(b, false, 1, subtreeMembers, func(s *models.Staff) (int, int, error) {
		st, err := s.Subtree(context.Background(), 1)
		return st.Size + 1, subtreeMembers, err
	})
}

// BenchmarkSubtreeSuspend100k suspends a subtree of 100,000 members and
// revokes their 100,000 pending invitations (one each), in one transaction.
func BenchmarkSubtreeSuspend100k(b *testing.B) {
	benchSubtree(b, true, 1, subtreeMembers, suspendSubtree)
}

// BenchmarkSubtreeSuspend100kTenthPending is the same subtree with a
// pending invitation held by one member in ten.
func BenchmarkSubtreeSuspend100kTenthPending(b *testing.B) {
	benchSubtree(b, true, 10, subtreeMembers, suspendSubtree)
}

// BenchmarkSubtreeRevoke100k revokes the 100,000 pending invitations of a
// subtree of 100,000 members.
func BenchmarkSubtreeRevoke100k(b *testing.B) {
	benchSubtree(b, true, 1, subtreeMembers, revokeSubtree)
}
