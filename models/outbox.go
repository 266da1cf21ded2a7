package models

import (
	"context"
	"database/sql"
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
)

// Whose token an email's link needs.
const (
	tokenNone       = ""
	tokenInvitation = "invitation"
	tokenUser       = "user_token"
)

const enqueueSQL = `INSERT INTO outbox (kind, to_addr, to_key, subject, text_body, html_body, token_kind, token_ref,
	next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// enqueue adds e to the outbox inside tx.
func enqueue(ctx context.Context, tx *sql.Tx, ch *change, now time.Time, e Email, tokenKind string, tokenRef int64) (int64, error) {
	res, err := tx.ExecContext(ctx, enqueueSQL, e.Kind, e.To, EmailKey(e.To), e.Subject, e.Text, e.HTML,
		tokenKind, tokenRef, unix(now), unix(now))
	if err != nil {
		return 0, fmt.Errorf("models: enqueue email: %w", err)
	}
	ch.mailed = true
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("models: enqueue email: %w", err)
	}
	return id, nil
}

// QueuedEmail is an email due for delivery.
type QueuedEmail struct {
	ID        int64
	Email     Email
	Attempts  int
	tokenKind string
	tokenRef  int64
}

// Queued signals, without blocking, after a commit that queued an email.
func (o *Outbox) Queued() <-chan struct{} { return o.mailQueued }

const dueSQL = `SELECT id, kind, to_addr, subject, text_body, html_body, token_kind, token_ref, attempts
	FROM outbox WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`

// Due returns up to limit emails whose next attempt is due.
func (o *Outbox) Due(ctx context.Context, limit int) ([]QueuedEmail, error) {
	rows, err := o.db.QueryContext(ctx, dueSQL, unix(o.now()), limit)
	if err != nil {
		return nil, fmt.Errorf("models: due emails: %w", err)
	}
	defer rows.Close()
	var out []QueuedEmail
	for rows.Next() {
		var q QueuedEmail
		if err := rows.Scan(&q.ID, &q.Email.Kind, &q.Email.To, &q.Email.Subject, &q.Email.Text, &q.Email.HTML,
			&q.tokenKind, &q.tokenRef, &q.Attempts); err != nil {
			return nil, fmt.Errorf("models: due emails: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: due emails: %w", err)
	}
	return out, nil
}

// MintTokens makes, in one transaction, the token for each email's link and
// stores its hash where it belongs. An email that needs no token gets "".
// An email that has become pointless (its invitation was revoked or resent,
// its token used or expired) is cancelled and left out of the result.
func (o *Outbox) MintTokens(ctx context.Context, batch []QueuedEmail) ([]MintedEmail, error) {
	var out []MintedEmail
	err := o.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		out = out[:0]
		now := unix(o.now())
		for _, q := range batch {
			token, ok, err := mintToken(ctx, tx, now, q)
			if err != nil {
				return err
			}
			if !ok {
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'cancelled' WHERE id = ?`, q.ID); err != nil {
					return fmt.Errorf("models: cancel email: %w", err)
				}
				continue
			}
			out = append(out, MintedEmail{QueuedEmail: q, Token: token})
		}
		return nil
	})
	return out, err
}

// MintedEmail is a queued email with the token its link needs ("" for none).
type MintedEmail struct {
	QueuedEmail
	Token string
}

func mintToken(ctx context.Context, tx *sql.Tx, now int64, q QueuedEmail) (string, bool, error) {
	if q.tokenKind == tokenNone {
		return "", true, nil
	}
	token, hash := NewToken()
	var res sql.Result
	var err error
	switch q.tokenKind {
	case tokenInvitation:
		// A link minted by an earlier attempt may have reached the invitee
		// after all; keep it recognisable as replaced.
		if q.Attempts > 0 {
			if _, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO replaced_tokens (token_hash, invitation_id, replaced_at)
				SELECT token_hash, id, ? FROM invitations WHERE id = ? AND token_hash IS NOT NULL`, now, q.tokenRef); err != nil {
				return "", false, fmt.Errorf("models: keep replaced token: %w", err)
			}
		}
		res, err = tx.ExecContext(ctx, `UPDATE invitations SET token_hash = ?
			WHERE id = ? AND status = 'pending' AND outbox_id = ? AND expires_at > ?`, hash, q.tokenRef, q.ID, now)
	case tokenUser:
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

// Attempt is the outcome of one delivery attempt.
type Attempt struct {
	ID      int64
	Err     string    // "" when the email was sent
	RetryAt time.Time // after a failure: when to try again; zero to give up
}

// RecordAttempts writes the outcomes of a batch of attempts in one
// transaction: the sent ones with one statement, each failure with its own.
func (o *Outbox) RecordAttempts(ctx context.Context, attempts []Attempt) error {
	if len(attempts) == 0 {
		return nil
	}
	return o.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := unix(o.now())
		var sent []string
		for _, a := range attempts {
			if a.Err == "" {
				sent = append(sent, strconv.FormatInt(a.ID, 10))
				continue
			}
			status, next := DeliveryQueued, unix(a.RetryAt)
			if a.RetryAt.IsZero() {
				status, next = DeliveryFailed, now
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = ?, attempts = attempts + 1, next_attempt_at = ?,
				last_error = ? WHERE id = ?`, status, next, a.Err, a.ID); err != nil {
				return fmt.Errorf("models: record delivery: %w", err)
			}
		}
		if len(sent) == 0 {
			return nil
		}
		// The ids are integers formatted here, never user input.
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent', attempts = attempts + 1, last_error = '', sent_at = ?
			WHERE id IN (`+strings.Join(sent, ",")+`)`, now); err != nil {
			return fmt.Errorf("models: record deliveries: %w", err)
		}
		return nil
	})
}
