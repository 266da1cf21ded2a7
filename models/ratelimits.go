package models

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"time"
)

// RateLimits counts attempts per key in a sliding window in the database,
// so that every process on one database shares each limit (SPEC 14): a
// sign-in limit is not multiplied by the number of servers behind the
// proxy. Keys are kept as their SHA-256.
type RateLimits struct{ *core }

func rateKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// Allow counts one attempt for key at now if fewer than limit were counted
// in the window before it, and reports whether it did; when not, it also
// returns how long until one frees. One write: the count and the insert
// cannot interleave with another process's (SQLite's single writer,
// PostgreSQL's serializable transactions).
func (m *RateLimits) Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	var ok bool
	var wait time.Duration
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		ok, wait = false, 0
		k := rateKey(key)
		n, oldest, err := rateCount(ctx, tx, k, window, now)
		if err != nil {
			return err
		}
		if n >= limit {
			wait = max(time.Unix(oldest, 0).Add(window).Sub(now), 0)
			return nil
		}
		ok = true
		return rateRecord(ctx, tx, k, window, now)
	})
	return ok, wait, err
}

// Spent reports, counting nothing, whether key has limit attempts in the
// window, and if so how long until one frees.
func (m *RateLimits) Spent(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	n, oldest, err := rateCount(ctx, m.db, rateKey(key), window, now)
	if err != nil || n < limit {
		return false, 0, err
	}
	return true, max(time.Unix(oldest, 0).Add(window).Sub(now), 0), nil
}

// Record counts one attempt for key whatever the count.
func (m *RateLimits) Record(ctx context.Context, key string, window time.Duration, now time.Time) error {
	return m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		return rateRecord(ctx, tx, rateKey(key), window, now)
	})
}

// Reset forgets key's attempts (after a successful sign-in, say).
func (m *RateLimits) Reset(ctx context.Context, key string) error {
	return m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM rate_events WHERE key_hash = ?`, rateKey(key)); err != nil {
			return fmt.Errorf("models: reset rate limit: %w", err)
		}
		return nil
	})
}

// Sweep deletes every attempt older than age (longer than any window), so
// that keys never counted again do not stay; it returns how many.
func (m *RateLimits) Sweep(ctx context.Context, age time.Duration) (int, error) {
	var n int64
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM rate_events WHERE at < ?`, unix(m.now().Add(-age)))
		if err != nil {
			return fmt.Errorf("models: sweep rate limits: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// rateCount counts key's attempts after now-window, with the oldest of them.
func rateCount(ctx context.Context, q queryer, k []byte, window time.Duration, now time.Time) (int, int64, error) {
	var n int
	var oldest sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT count(*), min(at) FROM rate_events WHERE key_hash = ? AND at > ?`,
		k, unix(now.Add(-window))).Scan(&n, &oldest); err != nil {
		return 0, 0, fmt.Errorf("models: count rate limit: %w", err)
	}
	return n, oldest.Int64, nil
}

// rateRecord adds one attempt for k at now and drops k's attempts that left
// the window, so that a busy key keeps about limit rows.
func rateRecord(ctx context.Context, tx *sql.Tx, k []byte, window time.Duration, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM rate_events WHERE key_hash = ? AND at <= ?`, k, unix(now.Add(-window))); err != nil {
		return fmt.Errorf("models: rate limit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rate_events (key_hash, at) VALUES (?, ?)`, k, unix(now)); err != nil {
		return fmt.Errorf("models: rate limit: %w", err)
	}
	return nil
}
