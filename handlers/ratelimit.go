package handlers

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/beckon-app/beckon/models"
)

// limiter counts events per key in a sliding window kept in memory; it guards
// sign-in, where the count must not survive in the database an attacker fills.
// Keys are kept as their SHA-256, so a key as long as a form allows (a typed
// login can be 64 KB) costs the map 32 bytes, and at most maxLimiterKeys
// are kept, so a flood of distinct keys cannot grow it without bound.
//
// On PostgreSQL, where several processes share one database, a limiter is
// shared instead (sharedLimiter): its counts live in the database's
// rate_events, under the SHA-256 of its name and the key, so that a limit
// is not multiplied by the number of servers. On SQLite one process owns
// the file, and the counts stay in memory, out of the single writer's way.
type limiter struct {
	// shared, when set, keeps the counts in the database under name.
	shared *models.RateLimits
	name   string
	logger *slog.Logger
	mu     sync.Mutex
	limit  int
	window time.Duration
	hits   map[[sha256.Size]byte][]time.Time
	swept  time.Time
	// fullSweep is when a full map last dropped its idle keys.
	fullSweep time.Time
}

// newLimiter allows limit events per key in window; a limit of 0 or less
// gives nil, a limiter that allows everything.
func newLimiter(limit int, window time.Duration) *limiter {
	if limit <= 0 {
		return nil
	}
	return &limiter{limit: limit, window: window, hits: map[[sha256.Size]byte][]time.Time{}}
}

// sharedLimiter is newLimiter over the database's rate_events (on
// PostgreSQL; on SQLite it is newLimiter).
func sharedLimiter(store *models.Store, logger *slog.Logger, name string, limit int, window time.Duration) *limiter {
	l := newLimiter(limit, window)
	if l != nil && models.EngineOf(store.DB) == models.Postgres {
		l.shared, l.name, l.logger = store.RateLimits, name, logger
	}
	return l
}

// sharedTimeout bounds a shared limiter's database work; past it, or on a
// database error, the request goes on as if within the limit (logged):
// a failing rate limit must not take sign-in down with it.
const sharedTimeout = 5 * time.Second

func (l *limiter) sharedKey(key string) string { return l.name + "\x00" + key }

func (l *limiter) failed(op string, err error) {
	l.logger.Error("shared rate limit failed; allowed", "limiter", l.name, "op", op, "err", err)
}

// allow records one event for key and reports whether it is within the limit,
// and if not, how long until it would be.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		ok, wait, err := l.shared.Allow(ctx, l.sharedKey(key), l.limit, l.window, now)
		if err != nil {
			l.failed("allow", err)
			return true, 0
		}
		return ok, wait
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	k := sha256.Sum256([]byte(key))
	recent := l.recent(k, now)
	if len(recent) >= l.limit {
		return false, recent[0].Add(l.window).Sub(now)
	}
	l.add(k, recent, now)
	return true, 0
}

// spent reports, without recording anything, whether key has used up the
// window's events, and if so how long until one frees. With record, the
// limiter counts only failures: check spent first, then record a failure.
func (l *limiter) spent(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return false, 0
	}
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		spent, wait, err := l.shared.Spent(ctx, l.sharedKey(key), l.limit, l.window, now)
		if err != nil {
			l.failed("spent", err)
			return false, 0
		}
		return spent, wait
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.recent(sha256.Sum256([]byte(key)), now)
	if len(recent) >= l.limit {
		return true, recent[0].Add(l.window).Sub(now)
	}
	return false, 0
}

// record counts one event for key whether or not it is within the limit.
func (l *limiter) record(key string, now time.Time) {
	if l == nil {
		return
	}
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if err := l.shared.Record(ctx, l.sharedKey(key), l.window, now); err != nil {
			l.failed("record", err)
		}
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	k := sha256.Sum256([]byte(key))
	l.add(k, l.recent(k, now), now)
}

// maxLimiterKeys bounds the keys one limiter keeps (about 100 bytes each).
const maxLimiterKeys = 100_000

// add records an event at now for k, whose recent events are recent. A new
// key in a full map first makes room: idle keys go (at most once a second,
// as that reads every key), then random ones. Random eviction gives a flood
// little: it would take tens of thousands of new keys to free one given key.
func (l *limiter) add(k [sha256.Size]byte, recent []time.Time, now time.Time) {
	if _, ok := l.hits[k]; !ok && len(l.hits) >= maxLimiterKeys {
		if now.Sub(l.fullSweep) >= time.Second {
			l.fullSweep = now
			l.dropIdle(now)
		}
		for victim := range l.hits {
			if len(l.hits) < maxLimiterKeys {
				break
			}
			delete(l.hits, victim)
		}
	}
	l.hits[k] = append(recent, now)
}

// reset forgets key (after a successful sign-in or a password reset).
func (l *limiter) reset(key string) {
	if l == nil {
		return
	}
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if err := l.shared.Reset(ctx, l.sharedKey(key)); err != nil {
			l.failed("reset", err)
		}
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hits, sha256.Sum256([]byte(key)))
}

func (l *limiter) recent(k [sha256.Size]byte, now time.Time) []time.Time {
	hits := l.hits[k]
	i := 0
	for i < len(hits) && !hits[i].After(now.Add(-l.window)) {
		i++
	}
	return hits[i:]
}

// sweep drops idle keys once a window, so the map does not grow forever.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < l.window {
		return
	}
	l.swept = now
	l.dropIdle(now)
}

func (l *limiter) dropIdle(now time.Time) {
	for k := range l.hits {
		if len(l.recent(k, now)) == 0 {
			delete(l.hits, k)
		}
	}
}

// joinRateMessage is the answer to a client address over BECKON_JOIN_RATE.
const joinRateMessage = "Too many sign-up attempts from your network. Try again in a few minutes."

// allowJoin counts one sign-up attempt (POST /join, /signup, the API's join,
// and any later way of asking to join, such as /request) from the client's
// address, and reports whether it is within BECKON_JOIN_RATE. When it is
// not, it has answered 429 with Retry-After, a page or, with api, JSON with
// the code rate_limited.
func (h *Handler) allowJoin(w http.ResponseWriter, r *http.Request, api bool) bool {
	ok, wait := h.joinByIP.allow(h.clientNet(r), time.Now())
	if ok {
		return true
	}
	err := &models.RateLimitError{Reason: joinRateMessage, RetryAfter: int(wait.Seconds()) + 1}
	if api {
		h.apiFail(w, r, err, models.Facts{})
		return false
	}
	h.fail(w, r, err, models.Facts{})
	return false
}
