package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Event kinds.
const (
	EventInviteSent          = "invite_sent"
	EventInviteAccepted      = "invite_accepted"
	EventJoinedIndependently = "joined_independently"
	EventInvitationRevoked   = "invitation_revoked"
	EventInvitationExpired   = "invitation_expired"
	EventAllocationChanged   = "allocation_changed"
	EventPasswordSet         = "password_set"
	EventInviteBounced       = "invite_bounced" // the SMTP server refused the invitation's recipient; the invitation was revoked
	EventInviteDeclined      = "invite_declined"
	EventInvitationsEarned   = "invitations_earned"
	// EventWebhookTest is the event of a webhook's "send a test event"
	// button: delivered to that endpoint only, and not in the feed.
	EventWebhookTest = "webhook_test"
)

// EventKinds lists every kind of event of SPEC 6, in its order: the choices
// a webhook endpoint subscribes to.
var EventKinds = []string{
	"invite_sent", "invite_accepted", "joined_independently", "invitation_revoked", "invitation_expired",
	"invite_declined", "invite_bounced", "allocation_changed", "invitations_earned", "password_set",
	"member_suspended", "member_unsuspended", "inviting_disabled", "inviting_enabled", "link_created",
	"link_closed", "invite_requested", "request_approved", "request_declined",
}

// ValidEventKind reports whether kind is one of EventKinds.
func ValidEventKind(kind string) bool { return slices.Contains(EventKinds, kind) }

// Event is something that happened, as recorded in the events table and
// handed to subscribers after the transaction that recorded it committed.
type Event struct {
	ID         int64
	Kind       string
	UserID     int64 // who acted (the inviter, the staff member, the new member)
	At         time.Time
	Invitation *Invitation // the invitation concerned, for the invitation events
	Data       map[string]any
}

// Events is the events table and the in-process subscribers to it.
//
// A subscriber is called once per event, after the commit, in the goroutine
// that made the change; it must return quickly (start a goroutine for slow
// work). A panicking subscriber is recovered and does not affect the change
// or other subscribers.
type Events struct {
	*core
	mu   sync.RWMutex
	subs map[int]func(Event)
	next int
}

// Subscribe registers fn for every event from now on and returns a function
// that unregisters it.
func (e *Events) Subscribe(fn func(Event)) (unsubscribe func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.subs == nil {
		e.subs = map[int]func(Event){}
	}
	id := e.next
	e.next++
	e.subs[id] = fn
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.subs, id)
	}
}

func (e *Events) publish(evs []Event) {
	if len(evs) == 0 {
		return
	}
	e.mu.RLock()
	subs := make([]func(Event), 0, len(e.subs))
	for _, fn := range e.subs {
		subs = append(subs, fn)
	}
	e.mu.RUnlock()
	for _, ev := range evs {
		for _, fn := range subs {
			callSubscriber(fn, ev)
		}
	}
}

func callSubscriber(fn func(Event), ev Event) {
	defer func() { _ = recover() }()
	fn(ev)
}

// record writes ev inside tx and keeps it for publishing after the commit.
// In the same transaction it queues one webhook delivery for every enabled
// endpoint that wants ev's kind, so a delivery exists exactly when the
// change does and survives any restart.
func record(ctx context.Context, tx *sql.Tx, ch *change, ev Event) error {
	data := map[string]any{}
	for k, v := range ev.Data {
		data[k] = v
	}
	var subject, inviter int64
	if inv := ev.Invitation; inv != nil {
		subject, inviter = inv.ID, inv.InviterID
		data["invitation_id"] = inv.ID
		data["inviter_id"] = inv.InviterID
		data["email"] = inv.Email
		data["status"] = inv.Status
	}
	body, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("models: encode event: %w", err)
	}
	at := unix(ev.At)
	// The insert also says whether any endpoint is enabled, read in this
	// transaction (so as fresh as the fan-out itself, whichever process
	// changed the endpoints): without one, the fan-out is skipped, which
	// spares most writes a statement.
	var endpoints bool
	if err := tx.QueryRowContext(ctx, recordEventSQL, ev.Kind, ev.UserID, subject, inviter, string(body), at).Scan(&ev.ID, &endpoints); err != nil {
		return fmt.Errorf("models: record event: %w", err)
	}
	if endpoints {
		if _, err := tx.ExecContext(ctx, queueDeliveriesSQL, ev.ID, at, at, ev.Kind); err != nil {
			return fmt.Errorf("models: queue webhook deliveries: %w", err)
		}
	}
	ch.events = append(ch.events, ev)
	return nil
}

const recordEventSQL = `INSERT INTO events (kind, user_id, subject_id, inviter_id, data, created_at)
	VALUES (?, nullif(CAST(? AS BIGINT), 0), nullif(CAST(? AS BIGINT), 0), nullif(CAST(? AS BIGINT), 0), ?, ?)
	RETURNING id, EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled = TRUE)`

// queueDeliveriesSQL fans one event out to the endpoints that want it, in
// one statement whatever their number.
const queueDeliveriesSQL = `INSERT INTO webhook_deliveries (endpoint_id, event_id, next_attempt_at, created_at)
	SELECT e.id, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) FROM webhook_endpoints e
	WHERE e.enabled = TRUE AND (e.all_events = TRUE OR EXISTS (
		SELECT 1 FROM webhook_endpoint_events k WHERE k.endpoint_id = e.id AND k.kind = ?))`

// queueDeliveriesAfter fans out, in one statement, every event after
// afterID to the endpoints that want it: for the set-based writes that add
// many events with one INSERT instead of through record.
func queueDeliveriesAfter(ctx context.Context, tx *sql.Tx, afterID int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (endpoint_id, event_id, next_attempt_at, created_at)
		SELECT e.id, ev.id, ev.created_at, ev.created_at FROM events ev JOIN webhook_endpoints e ON e.enabled = TRUE
		WHERE ev.id > ? AND (e.all_events = TRUE OR EXISTS (
			SELECT 1 FROM webhook_endpoint_events k WHERE k.endpoint_id = e.id AND k.kind = ev.kind))
		ORDER BY ev.id`, afterID); err != nil {
		return fmt.Errorf("models: queue webhook deliveries: %w", err)
	}
	return nil
}

// FeedEvent is an event as the API's feed and webhooks show it.
type FeedEvent struct {
	ID   int64
	Kind string
	At   time.Time
	Data json.RawMessage // the event's data, a JSON object
}

// MaxFeedPage bounds a page of the events feed.
const MaxFeedPage = 100

const feedAllSQL = `SELECT id, kind, data, created_at FROM events
	WHERE id > ? AND kind <> 'webhook_test' ORDER BY id LIMIT ?`

// feedMemberSQL is a member's events: those they made and those of their
// invitations, each side from its own index (events_inviter_idx holds only
// the events of an invitation that someone other than its inviter made;
// the first side has the others).
const feedMemberSQL = `SELECT id, kind, data, created_at FROM events
	WHERE id IN (SELECT id FROM events WHERE user_id = ? AND id > ?
		UNION SELECT id FROM events WHERE inviter_id = ? AND inviter_id IS DISTINCT FROM user_id AND id > ?)
	AND kind <> 'webhook_test' ORDER BY id LIMIT ?`

// Feed returns up to limit events with ids above after, oldest first. With
// all (staff) it is every event; otherwise the events viewerID made or
// that concern the invitations viewerID sent.
func (e *Events) Feed(ctx context.Context, viewerID int64, all bool, after int64, limit int) ([]FeedEvent, error) {
	limit = max(1, min(limit, MaxFeedPage+1))
	var rows *sql.Rows
	var err error
	if all {
		rows, err = e.db.QueryContext(ctx, feedAllSQL, after, limit)
	} else {
		rows, err = e.db.QueryContext(ctx, feedMemberSQL, viewerID, after, viewerID, after, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("models: events feed: %w", err)
	}
	defer rows.Close()
	var out []FeedEvent
	for rows.Next() {
		var f FeedEvent
		var data string
		var at int64
		if err := rows.Scan(&f.ID, &f.Kind, &data, &at); err != nil {
			return nil, fmt.Errorf("models: events feed: %w", err)
		}
		f.Data, f.At = json.RawMessage(data), time.Unix(at, 0).UTC()
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: events feed: %w", err)
	}
	return out, nil
}
