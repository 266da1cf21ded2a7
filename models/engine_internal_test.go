package models

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beckon-app/beckon/models/pgtest"
)

// storeOn opens a fresh, migrated database of engine e and a Store over it.
func storeOn(t *testing.T, e Engine) *Store {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "test.db")
	if e == Postgres {
		dsn = pgtest.URL(t, func(ctx context.Context, url string) error {
			db, err := Open(url)
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = Migrate(ctx, db)
			return err
		})
	}
	db, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return New(db, Options{})
}

// Concurrent writes that each read, then write on what they read (a quota
// counted before an insert, as the rate limits do) never overspend on
// either engine: SQLite's single writer runs them one at a time, and
// PostgreSQL's serializable transactions fail the loser of each race, which
// commit runs again; the write through a conditional UPDATE and the
// commits' events come out exact.
func TestConcurrentReadThenWriteNeverOverspends(t *testing.T) {
	for _, e := range []Engine{SQLite, Postgres} {
		t.Run(e.String(), func(t *testing.T) {
			s := storeOn(t, e)
			ctx := context.Background()
			var uid int64
			if err := s.DB.QueryRow(`INSERT INTO users (email, email_key, username, password_hash, joined_at)
				VALUES ('a', 'a', 'ann', 'x', 1) RETURNING id`).Scan(&uid); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB.Exec(`INSERT INTO allocations (user_id, allocated) VALUES (?, 5)`, uid); err != nil {
				t.Fatal(err)
			}
			errFull := errors.New("full")
			var attempts, published atomic.Int64
			s.Events.Subscribe(func(ev Event) { published.Add(1) })
			var wg sync.WaitGroup
			errs := make([]error, 24)
			for i := range errs {
				wg.Go(func() {
					errs[i] = s.Users.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
						attempts.Add(1)
						var n int
						if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE user_id = ? AND kind = 'test'`, uid).Scan(&n); err != nil {
							return err
						}
						if n >= 3 {
							return errFull
						}
						if _, err := tx.ExecContext(ctx, `UPDATE allocations SET held = held + 1
							WHERE user_id = ? AND (unlimited = TRUE OR held < allocated)`, uid); err != nil {
							return err
						}
						// record's insert, with RETURNING (LastInsertId is SQLite's).
						ev := Event{Kind: "test", UserID: uid}
						if err := tx.QueryRowContext(ctx, `INSERT INTO events (kind, user_id, created_at) VALUES ('test', ?, 0) RETURNING id`,
							uid).Scan(&ev.ID); err != nil {
							return err
						}
						ch.events = append(ch.events, ev)
						return nil
					})
				})
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, errFull):
					t.Errorf("write failed: %v", err)
				}
			}
			var held, n int
			if err := s.DB.QueryRow(`SELECT held, (SELECT count(*) FROM events WHERE kind = 'test') FROM allocations WHERE user_id = ?`, uid).Scan(&held, &n); err != nil {
				t.Fatal(err)
			}
			if ok != 3 || held != 3 || n != 3 {
				t.Errorf("%d writes succeeded, held %d, %d events; want 3 of each", ok, held, n)
			}
			if got := published.Load(); got != 3 {
				t.Errorf("%d events published; want 3 (a retried write publishes once)", got)
			}
			t.Logf("%d attempts for %d writes", attempts.Load(), len(errs))
		})
	}
}
