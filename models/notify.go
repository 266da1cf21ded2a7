package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kinds of the notification emails (SPEC 13), as the outbox records them.
const (
	kindInvitationReminder = "invitation_reminder"
	kindInviteeJoined      = "invitee_joined"
	kindInvitationBounced  = "invitation_bounced"
)

const enqueueOnceSQL = `INSERT INTO outbox (kind, to_addr, to_key, subject, token_kind, token_ref,
	next_attempt_at, created_at, dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`

// enqueueOnce is enqueue for an email that must go out at most once
// whatever runs twice: key names it (outbox.dedupe_key is unique), and an
// email already queued under key is not queued again (false).
func enqueueOnce(ctx context.Context, tx *sql.Tx, ch *change, now time.Time, e Email, tokenKind string, tokenRef int64, key string) (int64, bool, error) {
	var id int64
	err := tx.QueryRowContext(ctx, enqueueOnceSQL, e.Kind, e.To, EmailKey(e.To), e.Subject,
		tokenKind, tokenRef, unix(now), unix(now), key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("models: enqueue email: %w", err)
	}
	if err := insertBodies(ctx, tx, id, e); err != nil {
		return 0, false, err
	}
	ch.mailed = true
	return id, true, nil
}

func dedupeKey(what string, invitationID int64) string {
	return what + ":" + strconv.FormatInt(invitationID, 10)
}

// notifyInviterOfJoin queues, inside the transaction that accepted inv,
// the email that tells its inviter that invitee joined, unless the inviter
// turned these emails off (users.notify_joins). Every way of joining
// through an invitation (a link of its own, a shareable link's accepted
// invitation) calls it; the key "joined:{invitation id}" makes it at most
// one email per invitation however often the write runs.
func notifyInviterOfJoin(ctx context.Context, tx *sql.Tx, ch *change, c *core, now time.Time, inv Invitation, invitee User) error {
	var wants bool
	err := tx.QueryRowContext(ctx, `SELECT notify_joins FROM users WHERE id = ?`, inv.InviterID).Scan(&wants)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !wants) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("models: join notice setting: %w", err)
	}
	inviter, err := getUser(ctx, tx, inv.InviterID)
	if err != nil {
		return err
	}
	e := c.opts.Composer.InviteeJoined(inviter, invitee)
	e.Kind = kindInviteeJoined
	_, _, err = enqueueOnce(ctx, tx, ch, now, e, tokenNone, 0, dedupeKey("joined", inv.ID))
	return err
}

// notifyInviterOfBounce queues, inside the transaction that revoked the
// bounced invitation inv, the email that asks its inviter to check the
// address; at most one per invitation.
func notifyInviterOfBounce(ctx context.Context, tx *sql.Tx, ch *change, c *core, now time.Time, inv Invitation) error {
	inviter, err := getUser(ctx, tx, inv.InviterID)
	if errors.Is(err, ErrNoRecord) {
		return nil
	}
	if err != nil {
		return err
	}
	e := c.opts.Composer.InvitationBounced(inv, inviter)
	e.Kind = kindInvitationBounced
	_, _, err = enqueueOnce(ctx, tx, ch, now, e, tokenNone, 0, dedupeKey("bounced", inv.ID))
	return err
}

// remindBatch bounds the reminders one pass queues, so that its
// transaction stays short; the next pass, a minute later, takes the rest.
const remindBatch = 500

// remindDueSQL marks the invitations whose reminder is due as reminded and
// returns them. Due: pending, not expired, expiring within the reminder
// period (?2 is now + the period), never reminded, and their latest email
// was sent (a reminder of an email that never arrived reminds of nothing;
// the inviter sees it failed or bounced and can resend). An invitation
// whose link was given no more than the period to live (?3 against
// expires_at - sent_at, the latest send or resend) gets no reminder at
// all: it would be due at once, the first email itself being the
// reminder. Addresses on the do-not-invite list get none
// either (opting out revokes their invitations; this is belt and braces).
const remindDueSQL = `UPDATE invitations SET reminded_at = ?1 WHERE id IN (
	SELECT i.id FROM invitations i JOIN outbox o ON o.id = i.outbox_id
	WHERE i.status = 'pending' AND i.reminded_at IS NULL AND i.expires_at > ?1 AND i.expires_at <= ?2
	AND i.expires_at - i.sent_at > ?3 AND o.status = 'sent'
	AND NOT EXISTS (SELECT 1 FROM optouts x WHERE x.email_key = i.email_key)
	ORDER BY i.expires_at, i.id LIMIT ?4) RETURNING id`

// RemindDue is one run of the reminder sweep (SPEC 13): every pending
// invitation whose expiry is InviteReminder away or less, and that was
// never reminded, is marked reminded and gets its one reminder email, in
// one transaction. It returns how many. Off while InviteReminder is 0.
//
// The reminder becomes the invitation's latest email, with a link minted
// at its delivery like any invitation email's, while the first email's
// token moves to replaced_tokens under the reminder's outbox id: a
// replaced token whose email is the invitation's latest is live, so both
// links join (and a later resend replaces both).
func (m *Invitations) RemindDue(ctx context.Context) (int, error) {
	period := m.opts.InviteReminder
	if period <= 0 {
		return 0, nil
	}
	var n int
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		n = 0
		now := m.now()
		ids, err := queryAll(ctx, tx, remindBatch, scanID, remindDueSQL, unix(now), unix(now.Add(period)), int64(period/time.Second), remindBatch)
		if err != nil {
			return fmt.Errorf("models: due reminders: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		// The ids are integers read here, never user input.
		in := make([]string, len(ids))
		for i, id := range ids {
			in[i] = strconv.FormatInt(id, 10)
		}
		set := strings.Join(in, ",")
		invs, err := queryInvitations(ctx, tx, len(ids), invitationSelect+` WHERE i.id IN (`+set+`) ORDER BY i.id`, unix(now))
		if err != nil {
			return err
		}
		// Each email is written from its own invitation; the rest is set-based.
		inviters := map[int64]User{}
		for _, inv := range invs {
			inviter, ok := inviters[inv.InviterID]
			if !ok {
				if inviter, err = getUser(ctx, tx, inv.InviterID); err != nil {
					return err
				}
				inviters[inv.InviterID] = inviter
			}
			e := m.opts.Composer.InvitationReminder(inv, inviter)
			e.Kind = kindInvitationReminder
			if _, _, err := enqueueOnce(ctx, tx, ch, now, e, tokenInvitation, inv.ID, dedupeKey("reminder", inv.ID)); err != nil {
				return err
			}
		}
		if err := handOverToReminders(ctx, tx, now, set); err != nil {
			return err
		}
		n = len(invs)
		return nil
	})
	return n, err
}

// reminderOf is the outbox id of the reminder of the invitation whose id
// column is col (found through the unique dedupe key).
func reminderOf(col string) string {
	return `(SELECT r.id FROM outbox r WHERE r.dedupe_key = 'reminder:' || ` + col + `)`
}

// handOverToReminders makes the reminder of each invitation of set (a list
// of ids) its latest email while every token that joins now keeps joining:
// the live replaced tokens of the email before move to the reminder, and so
// does the current token (which the reminder's delivery then replaces with
// its own, see mintToken).
func handOverToReminders(ctx context.Context, tx *sql.Tx, now time.Time, set string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE replaced_tokens SET outbox_id = `+reminderOf("replaced_tokens.invitation_id")+`
		WHERE invitation_id IN (`+set+`)
		AND outbox_id = (SELECT i.outbox_id FROM invitations i WHERE i.id = replaced_tokens.invitation_id)`); err != nil {
		return fmt.Errorf("models: keep earlier tokens live: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO replaced_tokens (token_hash, invitation_id, replaced_at, outbox_id)
		SELECT i.token_hash, i.id, ?, `+reminderOf("i.id")+` FROM invitations i WHERE i.id IN (`+set+`) AND i.token_hash IS NOT NULL
		ON CONFLICT (token_hash) DO UPDATE SET outbox_id = excluded.outbox_id`, unix(now)); err != nil {
		return fmt.Errorf("models: keep first tokens live: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invitations SET outbox_id = `+reminderOf("invitations.id")+`, token_hash = NULL
		WHERE id IN (`+set+`)`); err != nil {
		return fmt.Errorf("models: link reminders: %w", err)
	}
	return nil
}

// NotifyJoins reports whether the user wants an email when someone joins
// through one of their invitations.
func (m *Users) NotifyJoins(ctx context.Context, id int64) (bool, error) {
	var on bool
	err := m.db.QueryRowContext(ctx, `SELECT notify_joins FROM users WHERE id = ?`, id).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNoRecord
	}
	if err != nil {
		return false, fmt.Errorf("models: notify_joins: %w", err)
	}
	return on, nil
}

// SetProfile saves the settings page's profile form: the display name and
// whether the member wants join emails, in one write.
func (m *Users) SetProfile(ctx context.Context, id int64, name string, notifyJoins bool) error {
	return m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, notify_joins = ? WHERE id = ?`,
			strings.TrimSpace(name), notifyJoins, id)
		if err != nil {
			return fmt.Errorf("models: set profile: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoRecord
		}
		return nil
	})
}
