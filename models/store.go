package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Composer writes the emails the models queue in the outbox. The models call
// it inside the transaction that causes the email, so the email is queued
// exactly when the change commits. Links carry a placeholder that the outbox
// worker replaces with a freshly minted token at delivery time.
type Composer interface {
	Confirmation(u User) Email
	PasswordReset(u User) Email
	Invitation(inv Invitation, inviter User) Email
}

// Options configures a Store.
type Options struct {
	// Now returns the current time; tests set it to move the clock.
	Now func() time.Time
	// Composer writes the queued emails.
	Composer Composer
	// DefaultAllocation is what a new user starts with; -1 means unlimited.
	DefaultAllocation int
	// InviteExpiry is how long an invitation link stays valid.
	InviteExpiry time.Duration
	// InviteRate is how many invitations one member may send an hour (0: no limit).
	InviteRate int
	// RecipientRate is how many invitation emails one address may receive a day (0: no limit).
	RecipientRate int
	// Argon sets the password hashing cost; zero means DefaultArgon.
	Argon ArgonParams
}

// Store gathers the table groups over one database.
type Store struct {
	DB          *sql.DB
	Users       *Users
	Invitations *Invitations
	Outbox      *Outbox
	Events      *Events
	Staff       *Staff
	APITokens   *APITokens
}

// core is what every table group shares.
type core struct {
	db   *sql.DB
	opts Options
	bus  *Events
	// mailQueued is signalled (without blocking) after a commit that queued
	// an email, so the delivery worker wakes at once instead of polling.
	mailQueued chan struct{}
}

// New builds a Store over db, which must already be migrated.
func New(db *sql.DB, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.InviteExpiry <= 0 {
		opts.InviteExpiry = 168 * time.Hour
	}
	if opts.Argon == (ArgonParams{}) {
		opts.Argon = DefaultArgon
	}
	ev := &Events{}
	c := &core{db: db, opts: opts, bus: ev, mailQueued: make(chan struct{}, 1)}
	ev.core = c
	return &Store{
		DB:          db,
		Users:       &Users{c},
		Invitations: &Invitations{c},
		Outbox:      &Outbox{c},
		Events:      ev,
		Staff:       &Staff{c},
		APITokens:   &APITokens{c},
	}
}

func (c *core) now() time.Time { return c.opts.Now().UTC().Truncate(time.Second) }

// change is what one transaction produced that must be acted on after the
// commit: events for subscribers and whether an email was queued.
type change struct {
	events []Event
	mailed bool
}

// write runs fn in one write transaction and, once it committed, hands the
// recorded events to subscribers and wakes the mail worker.
func (c *core) write(ctx context.Context, fn func(tx *sql.Tx, ch *change) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("models: begin: %w", err)
	}
	defer tx.Rollback()
	ch := &change{}
	if err := fn(tx, ch); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("models: commit: %w", err)
	}
	if ch.mailed {
		select {
		case c.mailQueued <- struct{}{}:
		default:
		}
	}
	c.bus.publish(ch.events)
	return nil
}

func unix(t time.Time) int64 { return t.Unix() }

// fromUnix turns a nullable Unix time column into a time, zero when NULL.
func fromUnix(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(n.Int64, 0).UTC()
}
