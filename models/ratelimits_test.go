package models_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
)

// A shared rate limit allows limit attempts per window, however many
// callers race for them, frees one as the oldest leaves the window,
// forgets a key on Reset, and keeps only hashes.
func TestRateLimitsShareOneCount(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		rl := models.New(db, models.Options{Now: func() time.Time { return now }}).RateLimits
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				ok, _, err := rl.Allow(ctx, "login\x00198.51.100.7", 5, time.Minute, now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != 5 {
			t.Fatalf("%d of 12 racing attempts allowed; want 5", allowed.Load())
		}
		ok, wait, err := rl.Allow(ctx, "login\x00198.51.100.7", 5, time.Minute, now.Add(30*time.Second))
		if err != nil || ok || wait != 30*time.Second {
			t.Errorf("attempt 13: %v, wait %v (%v); want refused for 30s", ok, wait, err)
		}
		if ok, _, _ := rl.Allow(ctx, "login\x00198.51.100.7", 5, time.Minute, now.Add(61*time.Second)); !ok {
			t.Error("refused once the window passed")
		}
		if spent, _, _ := rl.Spent(ctx, "other", 1, time.Minute, now); spent {
			t.Error("a fresh key is spent")
		}
		rl.Record(ctx, "other", time.Minute, now)
		if spent, _, _ := rl.Spent(ctx, "other", 1, time.Minute, now); !spent {
			t.Error("a recorded key is not spent")
		}
		if err := rl.Reset(ctx, "other"); err != nil {
			t.Fatal(err)
		}
		if spent, _, _ := rl.Spent(ctx, "other", 1, time.Minute, now); spent {
			t.Error("a reset key is still spent")
		}
		var leaked int
		db.QueryRow(`SELECT count(*) FROM rate_events WHERE key_hash = ?`, []byte("other")).Scan(&leaked)
		now = now.Add(48 * time.Hour)
		if n, err := rl.Sweep(ctx, 24*time.Hour); err != nil || n == 0 || leaked != 0 {
			t.Errorf("sweep removed %d (%v); %d raw keys stored", n, err, leaked)
		}
	})
}
