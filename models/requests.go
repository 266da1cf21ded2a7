package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Requests is the invite_requests table group: asking for an invitation
// (SPEC 12), confirming the request by email, and the staff queue that
// approves or declines it.
type Requests struct {
	*core
	inv *Invitations
}

// Request statuses.
const (
	RequestUnconfirmed = "unconfirmed" // its confirmation email's link is not used yet
	RequestOpen        = "open"        // confirmed: in the staff queue
	RequestApproved    = "approved"
	RequestDeclined    = "declined"
	RequestLapsed      = "lapsed" // never confirmed before its link ran out
)

// Event kinds of requests.
const (
	EventInviteRequested = "invite_requested"
	EventRequestApproved = "request_approved"
	EventRequestDeclined = "request_declined"
)

// Limits of a request.
const (
	// requestConfirmTTL is how long a request's confirmation link works,
	// as long as an address confirmation's.
	requestConfirmTTL = confirmTTL
)

// tokenRequest marks an outbox email whose link confirms a request; such an
// email is queued with the kind requestConfirmKind (see mintToken).
const (
	tokenRequest       = "request"
	requestConfirmKind = "request_confirmation"
)

// InviteRequest is one request for an invitation.
type InviteRequest struct {
	ID            int64
	Email         string
	Reason        string
	Status        string
	CreatedAt     time.Time
	ConfirmedAt   time.Time
	DecidedAt     time.Time
	DecidedBy     int64
	DeclineReason string
	InvitationID  int64
}

// CheckRequest validates the request form. email must be trimmed.
func CheckRequest(v *Validator, email, reason string) {
	CheckEmail(v, "email", email)
	CheckReason(v, "reason", reason, false)
}

// refuseRequest is the site's refusals of an address that apply to requests
// as they do to invitations and open signups: SPEC 11's blocked domains.
func refuseRequest(ctx context.Context, tx *sql.Tx, email string) error {
	domain, err := blockedDomain(ctx, tx, EmailKey(email))
	if err != nil {
		return err
	}
	if domain != "" {
		return ErrDomainBlocked.With(Facts{Domain: domain})
	}
	return nil
}

// Ask records a request from email with reason and queues the email whose
// link confirms it. One request per address may be open (unconfirmed with a
// live link, or in the queue): another is refused with ErrAlreadyAsked.
//
// An address that is already a member is answered exactly as a new one, so
// that the form tells strangers nothing of who is a member, but it is sent
// no email: its request is stored unconfirmed without a link, which can
// never be confirmed, lapses like any other, and meanwhile answers a second
// ask with ErrAlreadyAsked just as a real one would.
func (m *Requests) Ask(ctx context.Context, email, reason string) error {
	email = strings.TrimSpace(email)
	key := EmailKey(email)
	mail := m.opts.Composer.RequestConfirmation(email)
	return m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		if err := refuseRequest(ctx, tx, email); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invite_requests SET status = 'lapsed'
			WHERE email_key = ? AND status = 'unconfirmed' AND expires_at <= ?`, key, unix(now)); err != nil {
			return fmt.Errorf("models: lapse requests: %w", err)
		}
		var asked, member bool
		if err := tx.QueryRowContext(ctx, `SELECT
			EXISTS (SELECT 1 FROM invite_requests WHERE email_key = ?1 AND status IN ('unconfirmed', 'open')),
			EXISTS (SELECT 1 FROM users WHERE email_key = ?1)`, key).Scan(&asked, &member); err != nil {
			return fmt.Errorf("models: check request: %w", err)
		}
		if asked {
			return ErrAlreadyAsked
		}
		id, err := insertID(ctx, tx, m.engine, `INSERT INTO invite_requests (email, email_key, reason, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, email, key, reason, unix(now), unix(now.Add(requestConfirmTTL)))
		if err != nil {
			return fmt.Errorf("models: insert request: %w", err)
		}
		if member {
			return nil
		}
		mail.Kind = requestConfirmKind
		_, err = enqueue(ctx, tx, m.engine, ch, now, mail, tokenNone, id)
		return err
	})
}

const requestColumns = `id, email, reason, status, created_at, confirmed_at, decided_at, coalesce(decided_by, 0),
	decline_reason, coalesce(invitation_id, 0), expires_at`

func scanRequest(row interface{ Scan(...any) error }) (InviteRequest, time.Time, error) {
	var q InviteRequest
	var created, expires int64
	var confirmed, decided sql.NullInt64
	err := row.Scan(&q.ID, &q.Email, &q.Reason, &q.Status, &created, &confirmed, &decided, &q.DecidedBy,
		&q.DeclineReason, &q.InvitationID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return InviteRequest{}, time.Time{}, ErrNoRecord
	}
	if err != nil {
		return InviteRequest{}, time.Time{}, fmt.Errorf("models: scan request: %w", err)
	}
	q.CreatedAt = time.Unix(created, 0).UTC()
	q.ConfirmedAt = fromUnix(confirmed)
	q.DecidedAt = fromUnix(decided)
	return q, time.Unix(expires, 0).UTC(), nil
}

// lookupRequestToken finds the request a confirmation token belongs to, or
// says why it cannot be used: ErrTokenUnknown, ErrTokenExpired (never
// confirmed in time) or ErrTokenUsed (confirmed already).
func lookupRequestToken(ctx context.Context, q queryer, now time.Time, token string) (InviteRequest, error) {
	if !plausibleToken(token) {
		return InviteRequest{}, ErrTokenUnknown
	}
	req, expires, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM invite_requests WHERE token_hash = ?`, HashToken(token)))
	if errors.Is(err, ErrNoRecord) {
		return InviteRequest{}, ErrTokenUnknown
	}
	if err != nil {
		return InviteRequest{}, err
	}
	switch {
	case req.Status == RequestLapsed, req.Status == RequestUnconfirmed && !now.Before(expires):
		return req, ErrTokenExpired
	case req.Status != RequestUnconfirmed:
		return req, ErrTokenUsed
	}
	return req, nil
}

// CheckConfirmToken reports, changing nothing, whether token would confirm
// a request.
func (m *Requests) CheckConfirmToken(ctx context.Context, token string) (InviteRequest, error) {
	return lookupRequestToken(ctx, m.db, m.now(), token)
}

// Confirm uses a request's confirmation token: the request enters the
// staff queue, and the event invite_requested is recorded (only then: an
// unconfirmed request is nobody's business yet).
func (m *Requests) Confirm(ctx context.Context, token string) (InviteRequest, error) {
	var req InviteRequest
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		var err error
		if req, err = lookupRequestToken(ctx, tx, now, token); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invite_requests SET status = 'open', confirmed_at = ? WHERE id = ?`,
			unix(now), req.ID); err != nil {
			return fmt.Errorf("models: confirm request: %w", err)
		}
		req.Status, req.ConfirmedAt = RequestOpen, now
		return record(ctx, tx, ch, Event{Kind: EventInviteRequested, At: now,
			Data: map[string]any{"request_id": req.ID, "email": req.Email}})
	})
	return req, err
}

// Get returns the request with id, or ErrNoRecord.
func (m *Requests) Get(ctx context.Context, id int64) (InviteRequest, error) {
	req, _, err := scanRequest(m.db.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM invite_requests WHERE id = ?`, id))
	return req, err
}

// Queue returns the open (confirmed, unanswered) requests, oldest first, at
// most limit of them, and how many there are.
func (m *Requests) Queue(ctx context.Context, limit int) ([]InviteRequest, int, error) {
	var total int
	if err := m.db.QueryRowContext(ctx, `SELECT count(*) FROM invite_requests WHERE status = 'open'`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("models: count requests: %w", err)
	}
	rows, err := m.db.QueryContext(ctx, `SELECT `+requestColumns+` FROM invite_requests WHERE status = 'open' ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("models: list requests: %w", err)
	}
	defer rows.Close()
	var out []InviteRequest
	for rows.Next() {
		req, _, err := scanRequest(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, req)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("models: list requests: %w", err)
	}
	return out, total, nil
}

// openRequest reads request id and refuses it unless it is open.
func openRequest(ctx context.Context, q queryer, id int64) (InviteRequest, error) {
	req, _, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM invite_requests WHERE id = ?`, id))
	if err != nil {
		return InviteRequest{}, err
	}
	switch req.Status {
	case RequestOpen:
		return req, nil
	case RequestApproved, RequestDeclined:
		return req, ErrRequestAnswered
	}
	return InviteRequest{}, ErrNoRecord // not in the queue: unconfirmed or lapsed
}

// Approve answers an open request with an invitation from staff, taken from
// nobody's allocation: the checks and messages of a single invitation
// (already a member, already invited by this staff member, the rate
// limits) except the allocation's, and in the same transaction the request
// approved and the event request_approved.
func (m *Requests) Approve(ctx context.Context, staff User, id int64) (InviteRequest, Invitation, error) {
	req, err := openRequest(ctx, m.db, id)
	if err != nil {
		return req, Invitation{}, err
	}
	inv, _, err := m.inv.create(ctx, staff, req.Email, "", 0, inviteOpts{unheld: true,
		inTx: func(ctx context.Context, tx *sql.Tx, ch *change, inv Invitation) error {
			now := m.now()
			res, err := tx.ExecContext(ctx, `UPDATE invite_requests SET status = 'approved', decided_at = ?, decided_by = ?, invitation_id = ?
				WHERE id = ? AND status = 'open'`, unix(now), staff.ID, inv.ID, id)
			if err != nil {
				return fmt.Errorf("models: approve request: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return ErrRequestAnswered // answered meanwhile: the invitation is undone with it
			}
			return record(ctx, tx, ch, Event{Kind: EventRequestApproved, UserID: staff.ID, At: now, Invitation: &inv,
				Data: map[string]any{"request_id": id}})
		}})
	if err != nil {
		return req, Invitation{}, err
	}
	req.Status, req.DecidedBy, req.InvitationID = RequestApproved, staff.ID, inv.ID
	return req, inv, nil
}

// Decline answers an open request with no, and emails the requester the
// reason, if staffID gave one; the event request_declined is recorded.
func (m *Requests) Decline(ctx context.Context, staffID, id int64, reason string) (InviteRequest, error) {
	reason = strings.TrimSpace(reason)
	var req InviteRequest
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		var err error
		if req, err = openRequest(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invite_requests SET status = 'declined', decided_at = ?, decided_by = ?, decline_reason = ?
			WHERE id = ?`, unix(now), staffID, reason, id); err != nil {
			return fmt.Errorf("models: decline request: %w", err)
		}
		req.Status, req.DecidedAt, req.DecidedBy, req.DeclineReason = RequestDeclined, now, staffID, reason
		mail := m.opts.Composer.RequestDeclined(req.Email, reason)
		mail.Kind = "request_declined"
		if _, err := enqueue(ctx, tx, m.engine, ch, now, mail, tokenNone, 0); err != nil {
			return err
		}
		return record(ctx, tx, ch, Event{Kind: EventRequestDeclined, UserID: staffID, At: now,
			Data: map[string]any{"request_id": id, "email": req.Email}})
	})
	return req, err
}
