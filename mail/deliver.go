package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/beckon-app/beckon/models"
)

// Deliverer sends the outbox's emails after the transactions that queued
// them commit, retrying temporary failures with exponential backoff for at
// least RetryFor. An email is never lost: until it is sent, bounced or given
// up it stays queued in the database, and a restarted server picks it up
// again. Each email is claimed (in the transaction that mints its token)
// before it is sent and recorded right after, so a crash resends at most the
// claimed ones, and the links they carried keep working (models.MintTokens).
type Deliverer struct {
	outbox     *models.Outbox
	sender     Sender
	logger     *slog.Logger
	retryFor   time.Duration
	backoff    time.Duration
	maxBackoff time.Duration
	now        func() time.Time
	mu         sync.Mutex // one delivery pass at a time
}

// DelivererOptions tunes a Deliverer; zero values take the defaults.
type DelivererOptions struct {
	// RetryFor is how long after it was queued an email that keeps failing
	// is still retried; the first failure after that marks it failed
	// (default 24h).
	RetryFor time.Duration
	// Backoff is the wait after the first failure, doubled after each one
	// up to MaxBackoff (defaults 30s and 1h).
	Backoff    time.Duration
	MaxBackoff time.Duration
	Now        func() time.Time
}

// NewDeliverer returns a Deliverer of outbox's emails through sender.
func NewDeliverer(outbox *models.Outbox, sender Sender, logger *slog.Logger, opts DelivererOptions) *Deliverer {
	if opts.RetryFor <= 0 {
		opts.RetryFor = 24 * time.Hour
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 30 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Deliverer{outbox: outbox, sender: sender, logger: logger,
		retryFor: opts.RetryFor, backoff: opts.Backoff, maxBackoff: opts.MaxBackoff, now: opts.Now}
}

// batchSize is how many emails one claim takes: few enough that sending
// them all (30 seconds at most each) ends well inside models.ClaimLease.
const batchSize = 25

// DeliverDue sends every email that is due now, in batches, and returns how
// many were sent.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sent := 0
	for {
		due, err := d.outbox.Due(ctx, batchSize)
		if err != nil {
			return sent, err
		}
		if len(due) == 0 {
			return sent, nil
		}
		// A batch that lost a race on PostgreSQL is minted in parts: with
		// an error, the parts that did commit are claimed and go out all
		// the same, and the error ends the pass once they are recorded.
		minted, mintErr := d.outbox.MintTokens(ctx, due)
		if mintErr != nil && len(minted) == 0 {
			return sent, mintErr
		}
		// The batch's outcomes are recorded together, in one write: one
		// write per email made the worker fall behind a busy site. A crash
		// before the record sends at most this batch again, and every link
		// it delivered keeps working (the claim and the kept tokens).
		attempts := make([]models.Attempt, 0, len(minted))
		for i, m := range minted {
			if ctx.Err() != nil {
				// Shutting down: the rest stay claimed until the next start
				// releases them.
				d.logger.Info("email delivery stopped by shutdown", "unsent", len(minted)-i)
				break
			}
			a := d.send(ctx, m)
			attempts = append(attempts, a)
			if a.Err == "" {
				sent++
			}
		}
		// With a context of its own: an email that went out must be marked
		// sent even when shutdown cancelled ctx meanwhile.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = d.outbox.RecordAttempts(rctx, attempts)
		cancel()
		if err != nil {
			return sent, err
		}
		if mintErr != nil {
			return sent, mintErr
		}
		if len(due) < batchSize || ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
}

// send makes one attempt at m and says what to record.
func (d *Deliverer) send(ctx context.Context, m models.MintedEmail) models.Attempt {
	fill := func(s string) string { return strings.ReplaceAll(s, TokenPlaceholder, m.Token) }
	msg := Message{To: m.Email.To, Subject: m.Email.Subject, Text: fill(m.Email.Text), HTML: fill(m.Email.HTML)}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := d.sendRecovered(sctx, msg)
	if err == nil {
		return models.Attempt{ID: m.ID}
	}
	attempt := m.Attempts + 1
	a := models.Attempt{ID: m.ID, Err: err.Error()}
	var refused *RefusedError
	if errors.As(err, &refused) {
		a.Bounced = true
		d.logger.Warn("email refused by the SMTP server; not retried", "outbox_id", m.ID, "kind", m.Email.Kind,
			"attempt", attempt, "smtp_code", refused.Code, "err", err)
		return a
	}
	if now := d.now(); now.Sub(m.QueuedAt) < d.retryFor {
		wait := d.backoff
		for i := 1; i < attempt && wait < d.maxBackoff; i++ {
			wait *= 2
		}
		wait = min(wait, d.maxBackoff)
		a.RetryAt = now.Add(wait)
		d.logger.Warn("email delivery failed; will retry", "outbox_id", m.ID, "kind", m.Email.Kind, "attempt", attempt, "retry_in", wait.String(), "err", err)
	} else {
		d.logger.Error("email delivery failed; giving up", "outbox_id", m.ID, "kind", m.Email.Kind, "attempt", attempt,
			"queued_for", now.Sub(m.QueuedAt).Round(time.Second).String(), "err", err)
	}
	return a
}

// sendRecovered sends msg, turning a panic in the sender (an SMTP library's
// bug, say) into a failed attempt, retried like any other.
func (d *Deliverer) sendRecovered(ctx context.Context, msg Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			d.logger.Error("email sender panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("mail: sender panicked: %v", p)
		}
	}()
	return d.sender.Send(ctx, msg)
}

// Run delivers due emails until ctx is done: at once when a commit queued
// one (after a moment, so that a busy site's emails go in batches rather
// than one write per email), and every interval for retries.
func (d *Deliverer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		d.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.outbox.Queued():
			select {
			case <-ctx.Done():
				return
			case <-time.After(gatherFor):
			}
		}
	}
}

// pass is one delivery pass of Run. A panic is logged and the worker goes
// on: the emails it claimed are sent again once their claim runs out.
func (d *Deliverer) pass(ctx context.Context) {
	defer func() {
		if p := recover(); p != nil {
			d.logger.Error("email delivery pass panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
		d.logger.Error("email delivery pass failed", "err", err)
	}
}

// gatherFor is how long the worker lets queued emails gather before a pass.
const gatherFor = 50 * time.Millisecond
