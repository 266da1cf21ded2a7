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

// Outbox is the queue of emails waiting for delivery.
type Outbox struct{ *core }

// Email is one message as queued. A link in it that needs a token carries a
// placeholder, replaced at delivery by the token that MintToken returns.
type Email struct {
	Kind    string // "confirm_email", "password_reset", "invitation"
	To      string
	Subject string
	Text    string
	HTML    string
}

// Delivery states of a queued email.
const (
	DeliveryQueued    = "queued"
	DeliverySent      = "sent"
	DeliveryFailed    = "failed"
	DeliveryCancelled = "cancelled" // superseded before it could be sent
	DeliveryBounced   = "bounced"   // the SMTP server refused the recipient for good
)

// ClaimLease is how long a worker holds the emails it claimed before
// another pass may send them again: longer than a batch can take to send
// (batches of 25 with a 30-second limit each), so that only an email whose
// worker died is ever taken over.
const ClaimLease = 15 * time.Minute

// Whose token an email's link needs.
const (
	tokenNone       = ""
	tokenInvitation = "invitation"
	tokenUser       = "user_token"
)

const enqueueSQL = `INSERT INTO outbox (kind, to_addr, to_key, subject, token_kind, token_ref,
	next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// enqueue adds e to the outbox inside tx (of engine eng).
func enqueue(ctx context.Context, tx *sql.Tx, eng Engine, ch *change, now time.Time, e Email, tokenKind string, tokenRef int64) (int64, error) {
	id, err := insertID(ctx, tx, eng, enqueueSQL, e.Kind, e.To, EmailKey(e.To), e.Subject,
		tokenKind, tokenRef, unix(now), unix(now))
	if err != nil {
		return 0, fmt.Errorf("models: enqueue email: %w", err)
	}
	if err := insertBodies(ctx, tx, id, e); err != nil {
		return 0, err
	}
	ch.mailed = true
	return id, nil
}

// insertBodies stores the text and HTML of the queued email id: in a table
// of their own, written once, so that the worker's changes to the outbox
// row rewrite a small row (migration 0023).
func insertBodies(ctx context.Context, tx *sql.Tx, id int64, e Email) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_bodies (outbox_id, text_body, html_body) VALUES (?, ?, ?)`, id, e.Text, e.HTML); err != nil {
		return fmt.Errorf("models: enqueue email: %w", err)
	}
	return nil
}

// BodyRetention is how long the text and HTML of an email that is done
// with (sent, failed, cancelled or bounced) are kept after it was queued:
// the worker needs them only until then, and the outbox row, which the
// delivery badges and the recipient limit read, stays. Without it the
// bodies, about a kilobyte an email, would be most of the database.
const BodyRetention = 7 * 24 * time.Hour

// pruneBatch is how many of the oldest bodies one write of PruneBodies
// looks at, and pruneBatches how many writes one run makes at most: each
// write is short, so the single writer is never held long.
const (
	pruneBatch   = 1000
	pruneBatches = 20
)

// PruneBodies deletes the bodies of the emails done with and queued more
// than BodyRetention ago, and returns how many. It reads the oldest bodies
// first, a batch a write, and stops at a batch with nothing to delete: the
// bodies are in the order their emails were queued, so after a batch of
// young ones (or of the rare email still queued after a week) come only
// younger ones.
func (o *Outbox) PruneBodies(ctx context.Context) (int, error) {
	total := 0
	for range pruneBatches {
		var n int64
		err := o.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM outbox_bodies WHERE outbox_id IN (
				SELECT b.outbox_id FROM (SELECT outbox_id FROM outbox_bodies ORDER BY outbox_id LIMIT `+strconv.Itoa(pruneBatch)+`) b
				JOIN outbox o ON o.id = b.outbox_id
				WHERE o.status <> 'queued' AND o.created_at < ?)`, unix(o.now().Add(-BodyRetention)))
			if err != nil {
				return fmt.Errorf("models: prune email bodies: %w", err)
			}
			n, err = res.RowsAffected()
			return err
		})
		total += int(n)
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, nil
}

// QueuedEmail is an email due for delivery.
type QueuedEmail struct {
	ID        int64
	Email     Email
	Attempts  int       // attempts recorded so far
	QueuedAt  time.Time // when the change that caused it committed
	tokenKind string
	tokenRef  int64
}

// Queued signals, without blocking, after a commit that queued an email.
func (o *Outbox) Queued() <-chan struct{} { return o.mailQueued }

// A claimed email is due again once its claim runs out: next_attempt_at is
// the claim's end while claimed_at is set.
const dueSQL = `SELECT o.id, kind, to_addr, subject, b.text_body, b.html_body, token_kind, token_ref, attempts, created_at
	FROM outbox o JOIN outbox_bodies b ON b.outbox_id = o.id
	WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, o.id LIMIT ?`

// Due returns up to limit emails whose next attempt is due, changing nothing.
func (o *Outbox) Due(ctx context.Context, limit int) ([]QueuedEmail, error) {
	rows, err := o.db.QueryContext(ctx, dueSQL, unix(o.now()), limit)
	if err != nil {
		return nil, fmt.Errorf("models: due emails: %w", err)
	}
	defer rows.Close()
	var out []QueuedEmail
	for rows.Next() {
		var q QueuedEmail
		var queued int64
		if err := rows.Scan(&q.ID, &q.Email.Kind, &q.Email.To, &q.Email.Subject, &q.Email.Text, &q.Email.HTML,
			&q.tokenKind, &q.tokenRef, &q.Attempts, &queued); err != nil {
			return nil, fmt.Errorf("models: due emails: %w", err)
		}
		q.QueuedAt = time.Unix(queued, 0).UTC()
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: due emails: %w", err)
	}
	return out, nil
}

// claimSQL marks the emails of ids (integers formatted by the caller, never
// input) as being sent, those still queued and due (no other pass claimed
// them since Due read them), and returns the ids it claimed: one statement
// for a batch (one an email was a third of the worker's writes). On
// PostgreSQL a row another process is claiming right now is skipped rather
// than waited for (its claim would make this transaction fail and run
// again).
func claimSQL(e Engine, ids string) string {
	return `UPDATE outbox SET claimed_at = ?1, next_attempt_at = ?2
	WHERE id IN (SELECT id FROM outbox WHERE id IN (` + ids + `) AND status = 'queued' AND next_attempt_at <= ?1` + e.SkipLocked() + `)
	RETURNING id`
}

// MintTokens claims the emails of batch and makes the token each one's link
// needs, in one transaction, before any of them is sent: a worker that dies
// after sending leaves them claimed, and whoever sends them again (once the
// claim ran out, or at once after ReleaseClaims) mints again while the
// tokens minted before stay valid, so a link that went out is never broken.
// An email that needs no token gets "". An email that has become pointless
// (its invitation was revoked or resent, its token used or expired) is
// cancelled and left out, and so is one that another pass claimed first.
//
// On PostgreSQL a batch's transaction is a long one among many short ones
// (every invitation sent writes the invitations it reads), and serializable
// isolation kept failing it: under a burst of invitations the worker could
// retry one batch for its whole budget and send nothing. A batch that loses
// a race is therefore split (mintSplitting), and its parts commit on their
// own: with an error, MintTokens also returns the emails it did claim,
// which the caller should send.
func (o *Outbox) MintTokens(ctx context.Context, batch []QueuedEmail) ([]MintedEmail, error) {
	return mintSplitting(ctx, batch, func(ctx context.Context, part []QueuedEmail, once bool) ([]MintedEmail, error) {
		if once {
			return o.mintBatch(ctx, part, o.writeOnce)
		}
		return o.mintBatch(ctx, part, o.write)
	})
}

// mintSplitting runs mint on batch once (a single run on PostgreSQL) and,
// when that loses a race, on each half the same way, down to single
// emails, which mint with write's full retries. It returns every email
// minted, with the first error that was not a lost race.
func mintSplitting(ctx context.Context, batch []QueuedEmail, mint func(ctx context.Context, part []QueuedEmail, once bool) ([]MintedEmail, error)) ([]MintedEmail, error) {
	if len(batch) <= 1 {
		return mint(ctx, batch, false)
	}
	out, err := mint(ctx, batch, true)
	if err == nil || !retryable(err) {
		return out, err
	}
	half := len(batch) / 2
	first, err := mintSplitting(ctx, batch[:half], mint)
	if err != nil {
		return first, err
	}
	second, err := mintSplitting(ctx, batch[half:], mint)
	return append(first, second...), err
}

// mintBatch claims and mints batch in one transaction run by write; on an
// error it returns no email.
func (o *Outbox) mintBatch(ctx context.Context, batch []QueuedEmail, write func(context.Context, func(context.Context, *sql.Tx, *change) error) error) ([]MintedEmail, error) {
	var out []MintedEmail
	if len(batch) == 0 {
		return nil, nil
	}
	ids := make([]string, len(batch))
	for i, q := range batch {
		ids[i] = strconv.FormatInt(q.ID, 10)
	}
	claim := claimSQL(o.engine, strings.Join(ids, ","))
	err := write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		out = out[:0]
		now := o.now()
		claimed, err := queryAll(ctx, tx, len(batch), scanID, claim, unix(now), unix(now.Add(ClaimLease)))
		if err != nil {
			return fmt.Errorf("models: claim emails: %w", err)
		}
		mine := make(map[int64]bool, len(claimed))
		for _, id := range claimed {
			mine[id] = true
		}
		for _, q := range batch {
			if !mine[q.ID] {
				continue // claimed by another pass, or no longer queued
			}
			token, ok, err := mintToken(ctx, tx, unix(now), q)
			if err != nil {
				return err
			}
			if !ok {
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'cancelled', claimed_at = NULL WHERE id = ?`, q.ID); err != nil {
					return fmt.Errorf("models: cancel email: %w", err)
				}
				continue
			}
			out = append(out, MintedEmail{QueuedEmail: q, Token: token})
		}
		return nil
	})
	if err != nil {
		return nil, err // what a failed run minted was rolled back with it
	}
	return out, nil
}

// MintedEmail is a claimed email with the token its link needs ("" for none).
type MintedEmail struct {
	QueuedEmail
	Token string
}

// mintToken sets a new token hash for q's link. A hash minted before for
// the same email is kept as valid as the new one: the email that carried it
// may have been delivered although its attempt was never recorded.
func mintToken(ctx context.Context, tx *sql.Tx, now int64, q QueuedEmail) (string, bool, error) {
	if q.tokenKind == tokenNone && q.Email.Kind == requestConfirmKind {
		// The outbox's CHECK on token_kind predates requests, and SQLite
		// changes a CHECK only by rebuilding the table, which invitations
		// reference; so the email's kind says whose token it needs.
		q.tokenKind = tokenRequest
	}
	if q.tokenKind == tokenNone {
		return "", true, nil
	}
	token, hash := NewToken()
	var res sql.Result
	var err error
	switch q.tokenKind {
	case tokenInvitation:
		// The invitation's current hash was minted for its latest email,
		// which is q (the update below requires it).
		if _, err = tx.ExecContext(ctx, `INSERT INTO replaced_tokens (token_hash, invitation_id, replaced_at, outbox_id)
			SELECT token_hash, id, CAST(? AS BIGINT), outbox_id FROM invitations WHERE id = ? AND outbox_id = ? AND token_hash IS NOT NULL
			ON CONFLICT DO NOTHING`,
			now, q.tokenRef, q.ID); err != nil {
			return "", false, fmt.Errorf("models: keep earlier token: %w", err)
		}
		res, err = tx.ExecContext(ctx, `UPDATE invitations SET token_hash = ?
			WHERE id = ? AND status = 'pending' AND outbox_id = ? AND expires_at > ?`, hash, q.tokenRef, q.ID, now)
	case tokenRequest:
		res, err = tx.ExecContext(ctx, `UPDATE invite_requests SET token_hash = ?
			WHERE id = ? AND status = 'unconfirmed' AND expires_at > ?`, hash, q.tokenRef, now)
	case tokenUser:
		if _, err = tx.ExecContext(ctx, `INSERT INTO user_token_hashes (token_hash, user_token_id)
			SELECT token_hash, id FROM user_tokens WHERE id = ? AND token_hash IS NOT NULL ON CONFLICT DO NOTHING`, q.tokenRef); err != nil {
			return "", false, fmt.Errorf("models: keep earlier token: %w", err)
		}
		res, err = tx.ExecContext(ctx, `UPDATE user_tokens SET token_hash = ?
			WHERE id = ? AND used_at IS NULL AND expires_at > ?`, hash, q.tokenRef, now)
	default:
		return "", false, fmt.Errorf("models: unknown token kind %q", q.tokenKind)
	}
	if err != nil {
		return "", false, fmt.Errorf("models: mint token: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", false, fmt.Errorf("models: mint token: %w", err)
	}
	return token, n == 1, nil
}

// ReleaseClaims makes every claimed email due at once, for a server that
// starts on a database no other process sends from (SQLite): whatever was
// claimed belonged to a process that is gone. It returns how many.
func (o *Outbox) ReleaseClaims(ctx context.Context) (int, error) {
	var n int64
	err := o.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		// Queued emails are few; their partial index finds the claimed ones.
		res, err := tx.ExecContext(ctx, `UPDATE `+o.engine.IndexedBy("outbox", "outbox_due_idx")+` SET claimed_at = NULL, next_attempt_at = ?
			WHERE status = 'queued' AND claimed_at IS NOT NULL`, unix(o.now()))
		if err != nil {
			return fmt.Errorf("models: release claimed emails: %w", err)
		}
		n, err = res.RowsAffected()
		if err != nil {
			return fmt.Errorf("models: release claimed emails: %w", err)
		}
		if n > 0 {
			ch.mailed = true // wake the worker
		}
		return nil
	})
	return int(n), err
}

// Attempt is the outcome of one delivery attempt.
type Attempt struct {
	ID      int64
	Err     string    // "" when the email was sent
	RetryAt time.Time // after a temporary failure: when to try again; zero to give up
	Bounced bool      // the server refused the recipient for good: give up now
}

// RecordAttempts writes the outcomes of attempts in one transaction and
// ends their claims: the sent ones with one statement, each failure with
// its own. A bounced invitation email also revokes its invitation (if it is
// still pending and the email still its latest), gives the invitation back,
// records invite_bounced and queues the inviter's email about it.
func (o *Outbox) RecordAttempts(ctx context.Context, attempts []Attempt) error {
	if len(attempts) == 0 {
		return nil
	}
	return o.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := o.now()
		var sent []string
		for _, a := range attempts {
			if a.Err == "" {
				sent = append(sent, strconv.FormatInt(a.ID, 10))
				continue
			}
			status, next, bounced := DeliveryQueued, unix(a.RetryAt), sql.NullInt64{}
			switch {
			case a.Bounced:
				status, next, bounced = DeliveryFailed, unix(now), sql.NullInt64{Int64: unix(now), Valid: true}
			case a.RetryAt.IsZero():
				status, next = DeliveryFailed, unix(now)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = ?, attempts = attempts + 1, next_attempt_at = ?,
				last_error = ?, claimed_at = NULL, bounced_at = ? WHERE id = ?`, status, next, a.Err, bounced, a.ID); err != nil {
				return fmt.Errorf("models: record delivery: %w", err)
			}
			if a.Bounced {
				if err := revokeBounced(ctx, tx, ch, o.core, now, a.ID); err != nil {
					return err
				}
			}
		}
		if len(sent) == 0 {
			return nil
		}
		// The ids are integers formatted here, never user input.
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent', attempts = attempts + 1, last_error = '', sent_at = ?,
			claimed_at = NULL WHERE id IN (`+strings.Join(sent, ",")+`)`, unix(now)); err != nil {
			return fmt.Errorf("models: record deliveries: %w", err)
		}
		return nil
	})
}

// revokeBounced ends the invitation whose latest email outboxID bounced,
// and queues the email that tells its inviter to check the address.
func revokeBounced(ctx context.Context, tx *sql.Tx, ch *change, c *core, now time.Time, outboxID int64) error {
	var id, inviterID int64
	var holds bool
	err := tx.QueryRowContext(ctx, `UPDATE invitations SET status = 'revoked', revoked_at = ?1, ended_at = ?1
		WHERE outbox_id = ?2 AND status = 'pending' AND expires_at > ?1
		AND id = (SELECT token_ref FROM outbox WHERE id = ?2 AND token_kind = 'invitation')
		RETURNING id, inviter_id, holds_invitation`, unix(now), outboxID).Scan(&id, &inviterID, &holds)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not an invitation, or no longer pending
	}
	if err != nil {
		return fmt.Errorf("models: revoke bounced invitation: %w", err)
	}
	// An approved request's invitation held none (holds_invitation).
	if _, err := tx.ExecContext(ctx, `UPDATE allocations SET held = held - 1 WHERE user_id = ? AND ?`, inviterID, holds); err != nil {
		return fmt.Errorf("models: give bounced invitation back: %w", err)
	}
	inv, err := getInvitation(ctx, tx, now, id)
	if err != nil {
		return err
	}
	if err := record(ctx, tx, ch, Event{Kind: EventInviteBounced, At: now, Invitation: &inv}); err != nil {
		return err
	}
	return notifyInviterOfBounce(ctx, tx, ch, c, now, inv)
}
