package mail

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/beckon-app/beckon/models"
)

// Deliverer sends the outbox's emails after the transactions that queued
// them commit, retrying failures with exponential backoff. An email is never
// lost: until it is sent or given up it stays queued in the database, and a
// restarted server picks it up again.
type Deliverer struct {
	outbox      *models.Outbox
	sender      Sender
	logger      *slog.Logger
	maxAttempts int
	backoff     time.Duration
	now         func() time.Time
	mu          sync.Mutex // one delivery pass at a time
}

// DelivererOptions tunes a Deliverer; zero values take the defaults.
type DelivererOptions struct {
	MaxAttempts int           // attempts before an email is marked failed (default 8)
	Backoff     time.Duration // wait after the first failure, doubled each time (default 30s, capped at 1h)
	Now         func() time.Time
}

// NewDeliverer returns a Deliverer of outbox's emails through sender.
func NewDeliverer(outbox *models.Outbox, sender Sender, logger *slog.Logger, opts DelivererOptions) *Deliverer {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Deliverer{outbox: outbox, sender: sender, logger: logger,
		maxAttempts: opts.MaxAttempts, backoff: opts.Backoff, now: opts.Now}
}

const batchSize = 100

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
		minted, err := d.outbox.MintTokens(ctx, due)
		if err != nil {
			return sent, err
		}
		attempts := make([]models.Attempt, 0, len(minted))
		for _, m := range minted {
			a := d.send(ctx, m)
			if a.Err == "" {
				sent++
			}
			attempts = append(attempts, a)
		}
		// Record with a context of its own: an email that went out must be
		// marked sent even when shutdown cancelled ctx meanwhile.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = d.outbox.RecordAttempts(rctx, attempts)
		cancel()
		if err != nil {
			return sent, err
		}
		if len(due) < batchSize || ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
}

func (d *Deliverer) send(ctx context.Context, m models.MintedEmail) models.Attempt {
	fill := func(s string) string { return strings.ReplaceAll(s, TokenPlaceholder, m.Token) }
	msg := Message{To: m.Email.To, Subject: m.Email.Subject, Text: fill(m.Email.Text), HTML: fill(m.Email.HTML)}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := d.sender.Send(sctx, msg)
	if err == nil {
		return models.Attempt{ID: m.ID}
	}
	a := models.Attempt{ID: m.ID, Err: err.Error()}
	if attempt := m.Attempts + 1; attempt < d.maxAttempts {
		wait := min(d.backoff<<(attempt-1), time.Hour)
		a.RetryAt = d.now().Add(wait)
		d.logger.Warn("email delivery failed; will retry", "outbox_id", m.ID, "kind", m.Email.Kind, "attempt", attempt, "retry_in", wait.String(), "err", err)
	} else {
		d.logger.Error("email delivery failed; giving up", "outbox_id", m.ID, "kind", m.Email.Kind, "attempt", attempt, "err", err)
	}
	return a
}

// Run delivers due emails until ctx is done: at once when a commit queued
// one (after a moment, so that a busy site's emails go in batches rather
// than one write per email), and every interval for retries.
func (d *Deliverer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			d.logger.Error("email delivery pass failed", "err", err)
		}
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

// gatherFor is how long the worker lets queued emails gather before a pass.
const gatherFor = 50 * time.Millisecond
