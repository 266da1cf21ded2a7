package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Webhooks is the webhook endpoints staff add and the queue of deliveries
// to them (SPEC 13). Deliveries are queued by record, in the transaction of
// each event; the webhooks package sends them.
type Webhooks struct {
	*core
	// queued is signalled, without blocking, after a commit that may have
	// queued a delivery, so the sender wakes at once.
	queued chan struct{}
}

func newWebhooks(c *core, ev *Events) *Webhooks {
	w := &Webhooks{core: c, queued: make(chan struct{}, 1)}
	// Every event may have queued deliveries; subscribers run after the
	// commit, which is when the sender may see them.
	ev.Subscribe(func(Event) { w.signal() })
	return w
}

func (w *Webhooks) signal() {
	select {
	case w.queued <- struct{}{}:
	default:
	}
}

// Queued signals after a commit that may have queued a delivery.
func (w *Webhooks) Queued() <-chan struct{} { return w.queued }

// WebhookEndpoint is a URL that events are POSTed to.
type WebhookEndpoint struct {
	ID     int64
	URL    string
	Events []string // the kinds wanted; empty means all
	// Enabled is false once the endpoint failed for DisableAfter straight;
	// DisabledReason then says why.
	Enabled        bool
	DisabledAt     time.Time
	DisabledReason string
	FailingSince   time.Time // zero while healthy
	CreatedAt      time.Time
}

// WebhookDelivery is one event queued for one endpoint, as the delivery
// log shows it.
type WebhookDelivery struct {
	ID            int64
	EventID       int64
	EventKind     string
	Status        string // "queued", "delivered" or "failed"
	Attempts      int
	LastAttemptAt time.Time
	LastStatus    int    // the HTTP status of the last answer; 0 for none
	LastError     string // why the last attempt failed, "" if it did not
	NextAttemptAt time.Time
	CreatedAt     time.Time
}

// Delivery states of a webhook delivery.
const (
	WebhookQueued    = "queued"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed" // its endpoint was turned off first
)

// NewWebhookSecret makes a signing key: 32 bytes from crypto/rand, written
// in the Standard Webhooks form whsec_{base64}.
func NewWebhookSecret() (secret string, key string) {
	b := make([]byte, 32)
	rand.Read(b)
	key = base64.StdEncoding.EncodeToString(b)
	return "whsec_" + key, key
}

const createEndpointSQL = `INSERT INTO webhook_endpoints (url, all_events, secret, created_by, created_at)
	VALUES (?, ?, ?, nullif(CAST(? AS BIGINT), 0), ?)`

// Create adds an endpoint for url (already checked by the caller) that
// receives events of the given kinds (none: all) and returns it with its
// secret, whsec_…, which is not shown again.
func (w *Webhooks) Create(ctx context.Context, staffID int64, url string, kinds []string) (WebhookEndpoint, string, error) {
	secret, key := NewWebhookSecret()
	now := w.now()
	ep := WebhookEndpoint{URL: url, Events: kinds, Enabled: true, CreatedAt: now}
	err := w.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		var err error
		if ep.ID, err = insertID(ctx, tx, w.engine, createEndpointSQL, url, len(kinds) == 0, key, staffID, unix(now)); err != nil {
			return fmt.Errorf("models: create webhook: %w", err)
		}
		for _, k := range kinds {
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoint_events (endpoint_id, kind) VALUES (?, ?)
				ON CONFLICT (endpoint_id, kind) DO NOTHING`, ep.ID, k); err != nil {
				return fmt.Errorf("models: create webhook: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return WebhookEndpoint{}, "", err
	}
	return ep, secret, nil
}

const listEndpointsSQL = `SELECT id, url, enabled, disabled_at, disabled_reason, failing_since, created_at
	FROM webhook_endpoints`

// List returns every endpoint, oldest first.
func (w *Webhooks) List(ctx context.Context) ([]WebhookEndpoint, error) {
	return w.endpoints(ctx, listEndpointsSQL+` ORDER BY id`, `SELECT endpoint_id, kind FROM webhook_endpoint_events`)
}

// Get returns one endpoint, ErrNoRecord if there is none.
func (w *Webhooks) Get(ctx context.Context, id int64) (WebhookEndpoint, error) {
	eps, err := w.endpoints(ctx, listEndpointsSQL+` WHERE id = ?`,
		`SELECT endpoint_id, kind FROM webhook_endpoint_events WHERE endpoint_id = ?`, id)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	if len(eps) == 0 {
		return WebhookEndpoint{}, ErrNoRecord
	}
	return eps[0], nil
}

// endpoints reads the endpoints of query and the kinds each wants (from
// kindsQuery, with the same arguments), listed in the order of EventKinds.
func (w *Webhooks) endpoints(ctx context.Context, query, kindsQuery string, args ...any) ([]WebhookEndpoint, error) {
	rows, err := w.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("models: list webhooks: %w", err)
	}
	defer rows.Close()
	var out []WebhookEndpoint
	byID := map[int64]int{}
	for rows.Next() {
		var ep WebhookEndpoint
		var disabledAt, failingSince sql.NullInt64
		var created int64
		if err := rows.Scan(&ep.ID, &ep.URL, &ep.Enabled, &disabledAt, &ep.DisabledReason, &failingSince, &created); err != nil {
			return nil, fmt.Errorf("models: list webhooks: %w", err)
		}
		ep.DisabledAt, ep.FailingSince, ep.CreatedAt = fromUnix(disabledAt), fromUnix(failingSince), time.Unix(created, 0).UTC()
		byID[ep.ID] = len(out)
		out = append(out, ep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: list webhooks: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	krows, err := w.db.QueryContext(ctx, kindsQuery, args...)
	if err != nil {
		return nil, fmt.Errorf("models: list webhook events: %w", err)
	}
	defer krows.Close()
	wanted := map[int64]map[string]bool{}
	for krows.Next() {
		var id int64
		var kind string
		if err := krows.Scan(&id, &kind); err != nil {
			return nil, fmt.Errorf("models: list webhook events: %w", err)
		}
		if wanted[id] == nil {
			wanted[id] = map[string]bool{}
		}
		wanted[id][kind] = true
	}
	if err := krows.Err(); err != nil {
		return nil, fmt.Errorf("models: list webhook events: %w", err)
	}
	for id, kinds := range wanted {
		i, ok := byID[id]
		if !ok {
			continue
		}
		for _, k := range EventKinds {
			if kinds[k] {
				out[i].Events = append(out[i].Events, k)
			}
		}
	}
	return out, nil
}

// Delete removes an endpoint and its queued deliveries.
func (w *Webhooks) Delete(ctx context.Context, id int64) error {
	return w.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("models: delete webhook: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("models: delete webhook: %w", err)
		} else if n == 0 {
			return ErrNoRecord
		}
		return nil
	})
}

// SendTest records a webhook_test event and queues it for endpoint id
// alone. An endpoint that was turned off is turned on again: the test is
// how staff check that it works once more.
func (w *Webhooks) SendTest(ctx context.Context, staffID, id int64) (int64, error) {
	var eventID int64
	now := unix(w.now())
	err := w.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = TRUE, disabled_at = NULL, disabled_reason = '',
			failing_since = NULL WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("models: test webhook: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("models: test webhook: %w", err)
		} else if n == 0 {
			return ErrNoRecord
		}
		data, _ := json.Marshal(map[string]any{"endpoint_id": id, "message": "This is a test event from Beckon."})
		if err := tx.QueryRowContext(ctx, recordEventSQL, EventWebhookTest, staffID, 0, 0, string(data), now).Scan(&eventID, new(bool)); err != nil {
			return fmt.Errorf("models: test webhook: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (endpoint_id, event_id, next_attempt_at, created_at)
			VALUES (?, ?, ?, ?)`, id, eventID, now, now); err != nil {
			return fmt.Errorf("models: test webhook: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	w.signal()
	return eventID, nil
}

const deliveriesSQL = `SELECT d.id, d.event_id, ev.kind, d.status, d.attempts, d.last_attempt_at, d.last_status, d.last_error,
	d.next_attempt_at, d.created_at
	FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id
	WHERE d.endpoint_id = ? ORDER BY d.id DESC LIMIT ?`

// Deliveries returns an endpoint's newest deliveries, newest first: its
// delivery log.
func (w *Webhooks) Deliveries(ctx context.Context, endpointID int64, limit int) ([]WebhookDelivery, error) {
	rows, err := w.db.QueryContext(ctx, deliveriesSQL, endpointID, limit)
	if err != nil {
		return nil, fmt.Errorf("models: webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		var d WebhookDelivery
		var last sql.NullInt64
		var next, created int64
		if err := rows.Scan(&d.ID, &d.EventID, &d.EventKind, &d.Status, &d.Attempts, &last, &d.LastStatus, &d.LastError,
			&next, &created); err != nil {
			return nil, fmt.Errorf("models: webhook deliveries: %w", err)
		}
		d.LastAttemptAt, d.NextAttemptAt, d.CreatedAt = fromUnix(last), time.Unix(next, 0).UTC(), time.Unix(created, 0).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: webhook deliveries: %w", err)
	}
	return out, nil
}

// DueEndpoint is an endpoint whose oldest queued delivery is due: what the
// sender needs to reach it.
type DueEndpoint struct {
	ID     int64
	URL    string
	Secret string // the signing key, base64 (without whsec_)
}

// dueEndpointsSQL finds the enabled endpoints whose head, the queued
// delivery of the lowest event id, is due. Deliveries go out in event order
// per endpoint, so a later one waits while an earlier one is retried.
const dueEndpointsSQL = `SELECT e.id, e.url, e.secret FROM webhook_endpoints e
	JOIN webhook_deliveries d ON d.endpoint_id = e.id AND d.status = 'queued'
	WHERE e.enabled = TRUE AND d.next_attempt_at <= ? AND (e.claimed_until IS NULL OR e.claimed_until <= ?)
	AND d.event_id = (SELECT min(h.event_id) FROM webhook_deliveries h WHERE h.endpoint_id = e.id AND h.status = 'queued')
	ORDER BY e.id`

// DueEndpoints returns the endpoints that have a delivery to make now.
func (w *Webhooks) DueEndpoints(ctx context.Context) ([]DueEndpoint, error) {
	now := unix(w.now())
	rows, err := w.db.QueryContext(ctx, dueEndpointsSQL, now, now)
	if err != nil {
		return nil, fmt.Errorf("models: due webhooks: %w", err)
	}
	defer rows.Close()
	var out []DueEndpoint
	for rows.Next() {
		var d DueEndpoint
		if err := rows.Scan(&d.ID, &d.URL, &d.Secret); err != nil {
			return nil, fmt.Errorf("models: due webhooks: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: due webhooks: %w", err)
	}
	return out, nil
}

// Claim takes the lease of sending to an endpoint for d, unless another
// sender (in this process or another sharing the database) holds it, or
// the endpoint is off; it reports whether the lease is now the caller's.
// RecordAttempts and Release give it back.
func (w *Webhooks) Claim(ctx context.Context, endpointID int64, d time.Duration) (bool, error) {
	var ok bool
	err := w.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := w.now()
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET claimed_until = ?
			WHERE id = ? AND enabled = TRUE AND (claimed_until IS NULL OR claimed_until <= ?)`, unix(now.Add(d)), endpointID, unix(now))
		if err != nil {
			return fmt.Errorf("models: claim webhook: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("models: claim webhook: %w", err)
		}
		ok = n == 1
		return nil
	})
	return ok, err
}

// Release gives back the lease of Claim when there was nothing to send.
func (w *Webhooks) Release(ctx context.Context, endpointID int64) error {
	return w.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET claimed_until = NULL WHERE id = ?`, endpointID); err != nil {
			return fmt.Errorf("models: release webhook: %w", err)
		}
		return nil
	})
}

// PendingDelivery is a queued delivery with the event it carries.
type PendingDelivery struct {
	ID       int64
	Attempts int
	Event    FeedEvent
}

const pendingSQL = `SELECT d.id, d.attempts, ev.id, ev.kind, ev.data, ev.created_at
	FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id
	WHERE d.endpoint_id = ? AND d.status = 'queued' ORDER BY d.event_id LIMIT ?`

// Pending returns up to limit of an endpoint's queued deliveries, in event
// order.
func (w *Webhooks) Pending(ctx context.Context, endpointID int64, limit int) ([]PendingDelivery, error) {
	rows, err := w.db.QueryContext(ctx, pendingSQL, endpointID, limit)
	if err != nil {
		return nil, fmt.Errorf("models: pending webhooks: %w", err)
	}
	defer rows.Close()
	var out []PendingDelivery
	for rows.Next() {
		var p PendingDelivery
		var data string
		var at int64
		if err := rows.Scan(&p.ID, &p.Attempts, &p.Event.ID, &p.Event.Kind, &data, &at); err != nil {
			return nil, fmt.Errorf("models: pending webhooks: %w", err)
		}
		p.Event.Data, p.Event.At = json.RawMessage(data), time.Unix(at, 0).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: pending webhooks: %w", err)
	}
	return out, nil
}

// WebhookAttempt is the outcome of one POST of a delivery.
type WebhookAttempt struct {
	ID      int64
	Status  int       // the HTTP status answered; 0 for none
	Err     string    // "" when delivered (a 2xx answer)
	RetryAt time.Time // after a failure: when to try again
}

// RecordAttempts writes the outcomes of a run of attempts to one endpoint,
// in one transaction. A success clears the endpoint's failing streak; a
// failure starts one, and a streak older than disableAfter turns the
// endpoint off, with the reason, and ends its queued deliveries as failed.
// It gives back the lease of Claim and reports whether the endpoint was
// turned off.
func (w *Webhooks) RecordAttempts(ctx context.Context, endpointID int64, attempts []WebhookAttempt, disableAfter time.Duration) (bool, error) {
	if len(attempts) == 0 {
		return false, nil
	}
	var off bool
	err := w.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		off = false
		now := unix(w.now())
		failed := false
		var lastErr string
		for _, a := range attempts {
			var err error
			if a.Err == "" {
				_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1,
					last_attempt_at = ?, last_status = ?, last_error = '', delivered_at = ? WHERE id = ? AND status = 'queued'`,
					now, a.Status, now, a.ID)
			} else {
				failed, lastErr = true, a.Err
				_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?,
					last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ? AND status = 'queued'`,
					now, a.Status, a.Err, unix(a.RetryAt), a.ID)
			}
			if err != nil {
				return fmt.Errorf("models: record webhook delivery: %w", err)
			}
		}
		if !failed {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL, claimed_until = NULL WHERE id = ?`, endpointID); err != nil {
				return fmt.Errorf("models: record webhook delivery: %w", err)
			}
			return nil
		}
		var since int64
		err := tx.QueryRowContext(ctx, `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, ?),
			claimed_until = NULL WHERE id = ? RETURNING failing_since`, now, endpointID).Scan(&since)
		if err == sql.ErrNoRows {
			return nil // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("models: record webhook delivery: %w", err)
		}
		if now-since < int64(disableAfter/time.Second) {
			return nil
		}
		reason := fmt.Sprintf("Every delivery failed from %s to %s, so it was turned off. The last error: %s",
			time.Unix(since, 0).UTC().Format("2 Jan 2006 15:04 UTC"), time.Unix(now, 0).UTC().Format("2 Jan 2006 15:04 UTC"), lastErr)
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = FALSE, disabled_at = ?, disabled_reason = ?
			WHERE id = ?`, now, reason, endpointID); err != nil {
			return fmt.Errorf("models: turn webhook off: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed' WHERE endpoint_id = ? AND status = 'queued'`,
			endpointID); err != nil {
			return fmt.Errorf("models: turn webhook off: %w", err)
		}
		off = true
		return nil
	})
	return off, err
}
