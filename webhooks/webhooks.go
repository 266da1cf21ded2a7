// Package webhooks sends the events queued for webhook endpoints (SPEC 13):
// signed the Standard Webhooks way, over a client that only reaches public
// addresses, in event order per endpoint, retried with backoff until they
// are delivered or their endpoint is turned off after days of failures.
//
// It is a package of its own rather than part of mail: it shares mail's
// shape (a worker woken after commits, a fake clock for tests) but none of
// its code, and its one concern, outbound HTTP to addresses chosen by staff,
// brings a safety policy (safe.go) that mail has no use for.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/beckon-app/beckon/models"
)

// Payload is the JSON body of a delivery: the event as the feed shows it.
type Payload struct {
	ID        int64           `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// Body is the JSON body for ev; the same bytes on every attempt.
func Body(ev models.FeedEvent) []byte {
	data := ev.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	b, _ := json.Marshal(Payload{ID: ev.ID, Type: ev.Kind, CreatedAt: ev.At.UTC().Format(time.RFC3339), Data: data})
	return b
}

// Sign returns the webhook-signature header value for a message: "v1,"
// and the base64 of HMAC-SHA256, keyed by the secret's key (base64, with or
// without the whsec_ prefix), over "{id}.{timestamp}.{body}".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

func decodeSecret(secret string) ([]byte, error) {
	if len(secret) > 6 && secret[:6] == "whsec_" {
		secret = secret[6:]
	}
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil || len(key) < 24 {
		return nil, errors.New("webhooks: bad signing key")
	}
	return key, nil
}

// Options tunes a Worker; zero values take the defaults.
type Options struct {
	// AllowPrivate lets deliveries reach private and loopback addresses
	// (BECKON_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	// Timeout bounds one delivery (default 10 s).
	Timeout time.Duration
	// Backoff is the wait after a first failure, doubled after each
	// further one up to MaxBackoff (defaults 30 s and 1 h).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// DisableAfter is how long an endpoint may fail without a success
	// before it is turned off (default 72 h).
	DisableAfter time.Duration
	// Now is the clock; tests move it.
	Now func() time.Time
	// Client replaces the safe client; tests only.
	Client *http.Client
}

// Worker sends due deliveries. Until a delivery is delivered it stays
// queued in the database, so nothing is lost across a restart.
type Worker struct {
	hooks  *models.Webhooks
	logger *slog.Logger
	client *http.Client
	opts   Options
	mu     sync.Mutex // one pass at a time
}

// New returns a Worker over hooks.
func New(hooks *models.Webhooks, logger *slog.Logger, opts Options) *Worker {
	if opts.Timeout <= 0 {
		opts.Timeout = Timeout
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 30 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = 72 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	client := opts.Client
	if client == nil {
		client = NewClient(opts.AllowPrivate, opts.Timeout)
	}
	return &Worker{hooks: hooks, logger: logger, client: client, opts: opts}
}

// batch is how many deliveries to one endpoint are read at a time.
const batch = 50

// parallel bounds the endpoints sent to at once, so one slow receiver
// does not hold up the others but a pass stays small.
const parallel = 4

// DeliverDue makes every delivery that is due now and returns how many
// were delivered. Per endpoint the deliveries go in event order, one at a
// time, and a failure stops that endpoint until its retry is due.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	due, err := w.hooks.DueEndpoints(ctx)
	if err != nil {
		return 0, err
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    int
		firstErr error
	)
	slots := make(chan struct{}, parallel)
	for _, ep := range due {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			n, err := w.deliverTo(ctx, ep)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	return total, firstErr
}

// deliverTo sends an endpoint's queued deliveries in order until one fails
// or none is left.
func (w *Worker) deliverTo(ctx context.Context, ep models.DueEndpoint) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("webhooks: delivery to endpoint %d panicked: %v\n%s", ep.ID, p, debug.Stack())
		}
	}()
	for {
		// One sender at a time per endpoint, across processes too: that
		// keeps the order and sends nothing twice.
		// The lease is longer than a batch can take, a timeout each, so
		// it lapses only when its sender died.
		ok, err := w.hooks.Claim(ctx, ep.ID, batch*w.opts.Timeout+time.Minute)
		if err != nil || !ok {
			return n, err
		}
		pending, err := w.hooks.Pending(ctx, ep.ID, batch)
		if err != nil || len(pending) == 0 {
			if rerr := w.hooks.Release(context.WithoutCancel(ctx), ep.ID); err == nil {
				err = rerr
			}
			return n, err
		}
		var attempts []models.WebhookAttempt
		failed := false
		for _, p := range pending {
			if ctx.Err() != nil {
				break
			}
			a := w.send(ctx, ep, p)
			attempts = append(attempts, a)
			if a.Err != "" {
				failed = true
				break
			}
			n++
		}
		// Record under a context of its own: a delivery that was made must
		// be marked so even when shutdown cancelled ctx meanwhile.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		off, err := w.hooks.RecordAttempts(rctx, ep.ID, attempts, w.opts.DisableAfter)
		cancel()
		if err != nil {
			return n, err
		}
		if off {
			w.logger.Warn("webhook endpoint turned off after failing", "endpoint_id", ep.ID, "for", w.opts.DisableAfter.String())
		}
		if failed || len(pending) < batch || ctx.Err() != nil {
			return n, ctx.Err()
		}
	}
}

// send POSTs one delivery and says how it went.
func (w *Worker) send(ctx context.Context, ep models.DueEndpoint, p models.PendingDelivery) models.WebhookAttempt {
	a := models.WebhookAttempt{ID: p.ID}
	fail := func(msg string) models.WebhookAttempt {
		a.Err = msg
		attempt := p.Attempts + 1
		wait := w.opts.MaxBackoff
		if attempt-1 < 30 {
			wait = min(w.opts.Backoff<<(attempt-1), w.opts.MaxBackoff)
		}
		a.RetryAt = w.opts.Now().Add(wait)
		w.logger.Warn("webhook delivery failed; will retry", "endpoint_id", ep.ID, "delivery_id", p.ID,
			"event", p.Event.Kind, "attempt", attempt, "retry_in", wait.String(), "err", msg)
		return a
	}
	body := Body(p.Event)
	id := strconv.FormatInt(p.Event.ID, 10)
	ts := w.opts.Now().Unix()
	sig, err := Sign(ep.Secret, id, ts, body)
	if err != nil {
		return fail("the endpoint's signing key is damaged")
	}
	sctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return fail("the URL cannot be requested")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Beckon-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	res, err := w.client.Do(req)
	if err != nil {
		return fail(describe(err))
	}
	// Read a little of the answer so the connection can be reused; its
	// content is the receiver's business.
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	a.Status = res.StatusCode
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fail("the endpoint answered " + strconv.Itoa(res.StatusCode) + " " + http.StatusText(res.StatusCode))
	}
	return a
}

// describe is a connection error as staff read it in the delivery log:
// what went wrong, without the URL (which may carry the receiver's own
// secret in its query) or Go's wrapping.
func describe(err error) string {
	var pe *privateAddrError
	var oe *net.OpError
	switch {
	case errors.As(err, &pe):
		return "refused: the name resolves to " + pe.addr + ", which is not a public address"
	case isTimeout(err):
		return "no answer within the time limit"
	case errors.As(err, &oe) && oe.Err != nil:
		return "could not connect: " + oe.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return "could not send: " + ue.Err.Error()
	}
	return "could not send: " + err.Error()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// Run delivers due deliveries until ctx is done: at once after a commit
// that may have queued one (after a moment, so a burst of events goes in
// one pass), and every interval for retries. A panic in a pass is logged
// and the loop goes on.
func (w *Worker) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.hooks.Queued():
			select {
			case <-ctx.Done():
				return
			case <-time.After(gatherFor):
			}
		}
	}
}

func (w *Worker) pass(ctx context.Context) {
	defer func() {
		if p := recover(); p != nil {
			w.logger.Error("webhook delivery pass panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	if _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
		w.logger.Error("webhook delivery pass failed", "err", err)
	}
}

// gatherFor is how long the worker lets queued deliveries gather.
const gatherFor = 50 * time.Millisecond
