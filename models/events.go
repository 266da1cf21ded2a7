package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
)

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
func record(ctx context.Context, tx *sql.Tx, ch *change, ev Event) error {
	data := map[string]any{}
	for k, v := range ev.Data {
		data[k] = v
	}
	var subject int64
	if inv := ev.Invitation; inv != nil {
		subject = inv.ID
		data["invitation_id"] = inv.ID
		data["inviter_id"] = inv.InviterID
		data["email"] = inv.Email
		data["status"] = inv.Status
	}
	body, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("models: encode event: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO events (kind, user_id, subject_id, data, created_at) VALUES (?, nullif(?, 0), nullif(?, 0), ?, ?)`,
		ev.Kind, ev.UserID, subject, string(body), unix(ev.At))
	if err != nil {
		return fmt.Errorf("models: record event: %w", err)
	}
	if ev.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("models: record event: %w", err)
	}
	ch.events = append(ch.events, ev)
	return nil
}
