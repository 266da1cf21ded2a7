package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Invitations is the invitations table group: sending, resending, revoking,
// joining through a link, and the expiry sweep.
type Invitations struct{ *core }

// Invitation statuses.
const (
	StatusPending             = "pending"
	StatusAccepted            = "accepted"
	StatusJoinedIndependently = "joined_independently"
	StatusExpired             = "expired"
	StatusRevoked             = "revoked"
	StatusDeclined            = "declined" // the invitee said no thanks
)

// Statuses lists every status, in the order a list filter offers them.
var Statuses = []string{StatusPending, StatusAccepted, StatusJoinedIndependently, StatusExpired, StatusRevoked, StatusDeclined}

// ValidStatus reports whether s is one of Statuses.
func ValidStatus(s string) bool {
	for _, st := range Statuses {
		if s == st {
			return true
		}
	}
	return false
}

// Limits of an invitation's fields, and of resending.
const (
	MaxNoteLength  = 500
	MaxLabelLength = 60
	ResendInterval = 10 * time.Minute
)

// Invitation is one invitation with its inviter's and invitee's names.
type Invitation struct {
	ID              int64
	InviterID       int64
	InviterUsername string
	InviterName     string
	Email           string
	Note            string
	Status          string // effective: a pending invitation past its expiry reads "expired"
	Delivery        string // of its latest email: queued, sent, failed, bounced (or cancelled)
	CreatedAt       time.Time
	SentAt          time.Time
	ExpiresAt       time.Time
	AcceptedAt      time.Time
	RevokedAt       time.Time
	RemindedAt      time.Time // when its one reminder was queued (zero: never)
	Resends         int
	InviteeID       int64
	InviteeUsername string
	Label           string // private to the inviter and staff
	LinkID          int64  // the shareable link it was made by; 0 for an emailed one
}

// InviterDisplay is the inviter's name, or username when there is none.
func (inv Invitation) InviterDisplay() string {
	if inv.InviterName != "" {
		return inv.InviterName
	}
	return inv.InviterUsername
}

// CanResendAt is when a resend is next allowed: the first at once, later ones
// ResendInterval after the previous.
func (inv Invitation) CanResendAt() time.Time {
	if inv.Resends == 0 {
		return time.Time{}
	}
	return inv.SentAt.Add(ResendInterval)
}

// CheckInvitation validates the invite form's fields. email must be trimmed.
func CheckInvitation(v *Validator, email, note string) {
	CheckEmail(v, "email", email)
	CheckNote(v, "note", note)
}

// CheckNote validates a note to an invitee: at most MaxNoteLength
// characters, no hidden characters but line breaks and tabs.
func CheckNote(v *Validator, field, note string) {
	v.Check(utf8.RuneCountInString(note) <= MaxNoteLength, field, fmt.Sprintf("Keep the note to %d characters.", MaxNoteLength))
	v.Check(PlainText(note), field, hiddenMessage)
}

// CheckLabel validates an invitation's or a link's private label (trimmed).
func CheckLabel(v *Validator, label string) {
	v.Check(utf8.RuneCountInString(label) <= MaxLabelLength, "label", fmt.Sprintf("Keep the label to %d characters.", MaxLabelLength))
	v.Check(PlainLine(label), "label", hiddenMessage)
}

// invitationSelect reads an Invitation; its one parameter is the current time,
// so that an overdue pending invitation reads as expired.
const invitationSelect = `SELECT i.id, i.inviter_id, u.username, u.name, i.email, i.note,
	CASE WHEN i.status = 'pending' AND i.expires_at <= ?1 THEN 'expired' ELSE i.status END,
	CASE WHEN i.link_id IS NOT NULL THEN 'link' WHEN o.bounced_at IS NOT NULL THEN 'bounced' ELSE coalesce(o.status, 'queued') END,
	i.created_at, i.sent_at, i.expires_at, i.accepted_at, i.revoked_at, i.resends,
	coalesce(i.invitee_id, 0), coalesce(e.username, ''), i.reminded_at, i.label, coalesce(i.link_id, 0)
	FROM invitations i
	JOIN users u ON u.id = i.inviter_id
	LEFT JOIN users e ON e.id = i.invitee_id
	LEFT JOIN outbox o ON o.id = i.outbox_id`

// scanInvitation reads an invitationSelect row into inv.
func scanInvitation(row scanner, inv *Invitation) error {
	var created, sent, expires int64
	var accepted, revoked, reminded sql.NullInt64
	err := row.Scan(&inv.ID, &inv.InviterID, &inv.InviterUsername, &inv.InviterName, &inv.Email, &inv.Note,
		&inv.Status, &inv.Delivery, &created, &sent, &expires, &accepted, &revoked, &inv.Resends,
		&inv.InviteeID, &inv.InviteeUsername, &reminded, &inv.Label, &inv.LinkID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoRecord
	}
	if err != nil {
		return fmt.Errorf("models: scan invitation: %w", err)
	}
	inv.CreatedAt = time.Unix(created, 0).UTC()
	inv.SentAt = time.Unix(sent, 0).UTC()
	inv.ExpiresAt = time.Unix(expires, 0).UTC()
	inv.AcceptedAt = fromUnix(accepted)
	inv.RevokedAt = fromUnix(revoked)
	inv.RemindedAt = fromUnix(reminded)
	return nil
}

type queryer interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

func getInvitation(ctx context.Context, q queryer, now time.Time, id int64) (Invitation, error) {
	return one(q.QueryRowContext(ctx, invitationSelect+` WHERE i.id = ?2`, unix(now), id), scanInvitation)
}

// Get returns the invitation with id, or ErrNoRecord.
func (m *Invitations) Get(ctx context.Context, id int64) (Invitation, error) {
	return getInvitation(ctx, m.db, m.now(), id)
}

// GetForInviter returns the invitation with id if inviterID sent it, and
// ErrNoRecord otherwise, so another member's invitation looks like none.
func (m *Invitations) GetForInviter(ctx context.Context, inviterID, id int64) (Invitation, error) {
	inv, err := m.Get(ctx, id)
	if err == nil && inv.InviterID != inviterID {
		return Invitation{}, ErrNoRecord
	}
	return inv, err
}

// ListFilter selects a page of invitations.
type ListFilter struct {
	InviterID int64  // 0: every inviter
	Status    string // "": every status
	Email     string // "": any address; otherwise a substring of the address
	Label     string // "": any label; otherwise exactly this label
	Page      int    // from 1
	PerPage   int
	AfterID   int64 // cursor: only invitations with a smaller id (newest first); 0 for none
	SkipTotal bool  // do not count the matches (the total returned is then 0)
}

// List returns the invitations matching f, newest first, and how many match.
func (m *Invitations) List(ctx context.Context, f ListFilter) ([]Invitation, int, error) {
	// Parameters are numbered: ?1 is always the current time, which
	// invitationSelect and the status conditions use.
	args := []any{unix(m.now())}
	param := func(v any) string {
		args = append(args, v)
		return "?" + strconv.Itoa(len(args))
	}
	// An integer compared with a key or given to LIMIT goes in as a CAST:
	// with mattn/go-sqlite3 (v1.14.53) a bare integer parameter there made
	// every run of the statement cost as much as preparing it (about 30 µs
	// on the panel's query, a fifth of the page), the CAST none; see
	// docs/performance.md. PostgreSQL reads the same SQL.
	intParam := func(v int64) string { return "CAST(" + param(v) + " AS BIGINT)" }
	where := []string{"?1 > 0"}
	if f.InviterID != 0 {
		where = append(where, "i.inviter_id = "+intParam(f.InviterID))
	}
	switch f.Status {
	case "":
	case StatusPending:
		where = append(where, "i.status = 'pending' AND i.expires_at > ?1")
	case StatusExpired:
		where = append(where, "(i.status = 'expired' OR i.status = 'pending' AND i.expires_at <= ?1)")
	default:
		where = append(where, "i.status = "+param(f.Status))
	}
	if f.Email != "" {
		where = append(where, m.engine.Contains("i.email_key", param(EmailKey(f.Email))))
	}
	if f.Label != "" {
		where = append(where, "i.label = "+param(f.Label))
	}
	if f.AfterID > 0 {
		where = append(where, "i.id < "+intParam(f.AfterID))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if !f.SkipTotal {
		if err := m.db.QueryRowContext(ctx, `SELECT count(*) FROM invitations i WHERE `+cond, args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("models: count invitations: %w", err)
		}
	}
	if f.PerPage <= 0 {
		f.PerPage = 20
	}
	if f.Page < 1 {
		f.Page = 1
	}
	limit := intParam(int64(f.PerPage))
	offset := intParam(int64((f.Page - 1) * f.PerPage))
	cond += " ORDER BY i.id DESC LIMIT " + limit + " OFFSET " + offset
	out, err := queryInvitations(ctx, m.db, f.PerPage, invitationSelect+` WHERE `+cond, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("models: list invitations: %w", err)
	}
	return out, total, nil
}

// queryInvitations runs q, an invitationSelect, and reads every row (size
// as queryAll's).
func queryInvitations(ctx context.Context, q queryer, size int, query string, args ...any) ([]Invitation, error) {
	return queryAll(ctx, q, size, scanInvitation, query, args...)
}

// scanner is a row: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// queryAll runs query through q and reads every row with scan: the loop that
// every list would otherwise write again, rows.Err included. size is how
// many rows to make room for (the query's LIMIT, where it has one; past
// 256, the slice grows as rows come). Each row is scanned in place, into
// the slice: a list of invitations is a few hundred bytes a row, and a
// value scanned on its own and then appended to a growing slice cost three
// copies of it in garbage, half of all that the busiest pages allocated
// (docs/performance.md).
func queryAll[T any](ctx context.Context, q queryer, size int, scan func(scanner, *T) error, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]T, 0, min(max(size, 0), 256))
	var zero T
	for rows.Next() {
		out = append(out, zero)
		if err := scan(rows, &out[len(out)-1]); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// scanID reads a row that is one id.
func scanID(row scanner, id *int64) error { return row.Scan(id) }

// one reads the single row of a query with scan (each scan function turns
// "no row" into ErrNoRecord).
func one[T any](row *sql.Row, scan func(scanner, *T) error) (T, error) {
	var v T
	if err := scan(row, &v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// Create sends an invitation from inviterID to email with note: the checks of
// SPEC section 5 in order, then in one transaction the invitation, the
// invitation taken, the email queued and the event recorded. expiresIn of 0
// means the configured expiry. It returns the invitation and the inviter's
// allocation after the change.
func (m *Invitations) Create(ctx context.Context, inviterID int64, email, note string, expiresIn time.Duration) (Invitation, Allocation, error) {
	inviter, err := getUser(ctx, m.db, inviterID)
	if err != nil {
		return Invitation{}, Allocation{}, err
	}
	return m.CreateFrom(ctx, inviter, email, note, expiresIn)
}

// CreateFrom is Create for an inviter already read (the signed-in user of a
// request), which spares reading them again. Their allocation is not trusted:
// the take reads it under the write lock.
func (m *Invitations) CreateFrom(ctx context.Context, inviter User, email, note string, expiresIn time.Duration) (Invitation, Allocation, error) {
	return m.create(ctx, inviter, email, note, expiresIn, inviteOpts{})
}

// NewInvitation is what sending an invitation takes besides the inviter.
type NewInvitation struct {
	Email     string
	Note      string
	Label     string        // private; checked by CheckLabel
	ExpiresIn time.Duration // 0: the configured expiry
}

// CreateWith is CreateFrom with every field of the invitation, the label
// included.
func (m *Invitations) CreateWith(ctx context.Context, inviter User, ni NewInvitation) (Invitation, Allocation, error) {
	return m.create(ctx, inviter, ni.Email, ni.Note, ni.ExpiresIn, inviteOpts{label: ni.Label})
}

// inviteOpts are how an invitation made for someone else than the inviter
// alone (an approved request, a row of a bulk job) differs from one sent
// through the invite form; the zero value is the invite form's.
type inviteOpts struct {
	// unheld: the invitation is taken from nobody's allocation (SPEC 12's
	// approved requests); the inviter's allocation is read, not changed.
	unheld bool
	// inTx, when set, runs in the transaction that creates the invitation,
	// after it; its error undoes the invitation.
	inTx func(ctx context.Context, tx *sql.Tx, ch *change, inv Invitation) error
	// label is the invitation's private label (SPEC 12).
	label string
}

// create is CreateFrom with opts: every check and message the same.
func (m *Invitations) create(ctx context.Context, inviter User, email, note string, expiresIn time.Duration, opts inviteOpts) (Invitation, Allocation, error) {
	email = strings.TrimSpace(email)
	label := strings.TrimSpace(opts.label)
	key := EmailKey(email)
	if expiresIn <= 0 {
		expiresIn = m.opts.InviteExpiry
	}
	inviterID := inviter.ID
	// Work that needs no lock is done before the write: SQLite has one
	// writer, so the transaction holds only what must be atomic.
	if !inviter.Verified() {
		return Invitation{}, Allocation{}, ErrNotVerified
	}
	now := m.now()
	inv := Invitation{InviterID: inviterID, InviterUsername: inviter.Username, InviterName: inviter.Name,
		Email: email, Note: note, Label: label, Status: StatusPending, Delivery: DeliveryQueued,
		CreatedAt: now, SentAt: now, ExpiresAt: now.Add(expiresIn)}
	mail := m.opts.Composer.Invitation(inv, inviter)
	var alloc Allocation
	// A refusal for an address already a member or already invited is the
	// job's outcome rather than its error: the write commits the refusal's
	// record, which counts towards the hourly limit (see checkInviterRate).
	var refused error
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		refused = nil
		facts, err := m.readInviteFacts(ctx, tx, now, inviterID, key)
		if err != nil {
			return err
		}
		if facts.overdue {
			if err := endInvitations(ctx, tx, ch, now, StatusExpired, 0, allOverdue(m.engine),
				"status = 'pending' AND expires_at <= ? AND inviter_id = ?", unix(now), inviterID); err != nil {
				return err
			}
		}
		// The inviter's hourly limit comes before the member and duplicate
		// answers, against SPEC 5's order: once the hour's attempts are
		// spent, every address gets the same 429, so the form cannot be
		// used to learn who is registered.
		if err := m.checkInviterRate(ctx, tx, now, inviterID); err != nil {
			return err
		}
		switch {
		case facts.member:
			refused = ErrAlreadyMember
		case facts.invited:
			refused = ErrAlreadyInvited
		}
		if refused != nil {
			return m.recordRefusal(ctx, tx, now, inviterID, refused)
		}
		if err := facts.refusal(m, inviter, now); err != nil {
			return err
		}
		if opts.unheld {
			alloc, err = allocation(ctx, tx, inviterID)
		} else {
			alloc, err = takeInvitation(ctx, tx, inviterID)
		}
		if err != nil {
			return err
		}
		if err := m.checkRecipientRate(ctx, tx, now, key); err != nil {
			return err
		}
		if inv.ID, err = insertID(ctx, tx, m.engine, `INSERT INTO invitations (inviter_id, email, email_key, note, label, created_at, sent_at, expires_at, holds_invitation)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, inviterID, email, key, note, label, unix(now), unix(now), unix(inv.ExpiresAt), !opts.unheld); err != nil {
			return fmt.Errorf("models: insert invitation: %w", err)
		}
		if err := linkInvitationEmail(ctx, tx, m.engine, ch, now, inv.ID, mail); err != nil {
			return err
		}
		if err := record(ctx, tx, ch, Event{Kind: EventInviteSent, UserID: inviterID, At: now, Invitation: &inv}); err != nil {
			return err
		}
		if opts.inTx != nil {
			return opts.inTx(ctx, tx, ch, inv)
		}
		return nil
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return Invitation{}, Allocation{}, err
	}
	return inv, alloc, nil
}

const (
	insertRefusalSQL = `INSERT INTO invite_refusals (inviter_id, reason, created_at) VALUES (?, ?, ?)`
	// Refusals older than the hour count for nothing: each new one clears
	// the inviter's old ones, so the table holds about an hour of them.
	pruneRefusalsSQL = `DELETE FROM invite_refusals WHERE inviter_id = ? AND created_at <= ?`
)

// recordRefusal keeps an invitation refused for reason (ErrAlreadyMember or
// ErrAlreadyInvited), to be counted by checkInviterRate. With no inviter
// limit there is nothing to count it against.
func (m *Invitations) recordRefusal(ctx context.Context, tx *sql.Tx, now time.Time, inviterID int64, reason error) error {
	if m.opts.InviteRate <= 0 {
		return nil
	}
	code := "already_member"
	if errors.Is(reason, ErrAlreadyInvited) {
		code = "already_invited"
	}
	if _, err := tx.ExecContext(ctx, pruneRefusalsSQL, inviterID, unix(now.Add(-time.Hour))); err != nil {
		return fmt.Errorf("models: prune invitation refusals: %w", err)
	}
	if _, err := tx.ExecContext(ctx, insertRefusalSQL, inviterID, code, unix(now)); err != nil {
		return fmt.Errorf("models: record invitation refusal: %w", err)
	}
	return nil
}

// takeInvitation takes one invitation from the user's allowance, or fails
// with ErrNoInvitesLeft; one conditional UPDATE, so that no interleaving of
// requests can overspend. It returns the allocation after the change.
func takeInvitation(ctx context.Context, tx *sql.Tx, userID int64) (Allocation, error) {
	var a Allocation
	err := tx.QueryRowContext(ctx, `UPDATE allocations SET held = held + 1
		WHERE user_id = ? AND (unlimited = TRUE OR held < allocated)
		RETURNING `+allocationColumns, userID).Scan(&a.Allocated, &a.Unlimited, &a.Held, &a.Accepted)
	if errors.Is(err, sql.ErrNoRows) {
		return Allocation{}, ErrNoInvitesLeft
	}
	if err != nil {
		return Allocation{}, fmt.Errorf("models: take invitation: %w", err)
	}
	return a, nil
}

// inviterRateSQL reads the inviter's latest attempts of the last hour: the
// invitations sent and the refusals recorded (?1 inviter, ?2 the limit, ?3
// an hour ago). The limit is reached when the latest limit attempts all fall
// within the hour; then the oldest of them leaving the hour frees one.
// Reading just those few, through each table's (inviter, id) index, stays
// cheap however many were made.
const inviterRateSQL = `SELECT count(*), min(t) FROM (
		SELECT t FROM (SELECT created_at AS t FROM invitations WHERE inviter_id = ?1 ORDER BY id DESC LIMIT ?2) AS sent
		UNION ALL
		SELECT t FROM (SELECT created_at AS t FROM invite_refusals WHERE inviter_id = ?1 ORDER BY id DESC LIMIT ?2) AS refused
		ORDER BY t DESC LIMIT ?2) AS latest
	WHERE t > ?3`

// checkInviterRate applies the per-inviter hourly limit, which counts the
// invitations sent and those refused as already a member or already invited.
func (m *Invitations) checkInviterRate(ctx context.Context, tx *sql.Tx, now time.Time, inviterID int64) error {
	limit := m.opts.InviteRate
	if limit <= 0 {
		return nil
	}
	var n int
	var oldest sql.NullInt64
	if err := tx.QueryRowContext(ctx, inviterRateSQL, inviterID, limit, unix(now.Add(-time.Hour))).Scan(&n, &oldest); err != nil {
		return fmt.Errorf("models: inviter rate: %w", err)
	}
	if n < limit {
		return nil
	}
	return &RateLimitError{
		Reason:     fmt.Sprintf("You have sent or tried %d invitations in the last hour. Try again later.", n),
		RetryAfter: retryAfter(now, oldest, time.Hour),
	}
}

func (m *Invitations) checkRecipientRate(ctx context.Context, tx *sql.Tx, now time.Time, key string) error {
	limit := m.opts.RecipientRate
	if limit <= 0 {
		return nil
	}
	since := unix(now.Add(-24 * time.Hour))
	var n int
	var oldest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM outbox WHERE to_key = ? AND kind = 'invitation' AND created_at > ?`,
		key, since).Scan(&n, &oldest); err != nil {
		return fmt.Errorf("models: recipient rate: %w", err)
	}
	if n < limit {
		return nil
	}
	return &RateLimitError{
		Reason:     "This address has received enough invitations for today. Try again tomorrow.",
		RetryAfter: retryAfter(now, oldest, 24*time.Hour),
	}
}

// retryAfter is the seconds until the oldest counted item leaves the window.
func retryAfter(now time.Time, oldest sql.NullInt64, window time.Duration) int {
	if !oldest.Valid {
		return int(window.Seconds())
	}
	return max(int(time.Unix(oldest.Int64, 0).Add(window).Sub(now).Seconds())+1, 1)
}

// queueInvitationEmail writes and queues the email for inv.
func (m *Invitations) queueInvitationEmail(ctx context.Context, tx *sql.Tx, ch *change, now time.Time, inv Invitation, inviter User) (Invitation, error) {
	if err := linkInvitationEmail(ctx, tx, m.engine, ch, now, inv.ID, m.opts.Composer.Invitation(inv, inviter)); err != nil {
		return Invitation{}, err
	}
	inv.Delivery = DeliveryQueued
	return inv, nil
}

// linkInvitationEmail queues e, the email of invitation id, and points the
// invitation at it; the link's token is minted when it is delivered.
func linkInvitationEmail(ctx context.Context, tx *sql.Tx, eng Engine, ch *change, now time.Time, id int64, e Email) error {
	e.Kind = "invitation"
	outboxID, err := enqueue(ctx, tx, eng, ch, now, e, tokenInvitation, id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invitations SET outbox_id = ? WHERE id = ?`, outboxID, id); err != nil {
		return fmt.Errorf("models: link invitation email: %w", err)
	}
	return nil
}

// Resend sends a pending invitation again with a new link and a new expiry;
// the old link then says a newer email replaced it. The first resend is
// always allowed, later ones once per ResendInterval.
func (m *Invitations) Resend(ctx context.Context, inviterID, id int64) (Invitation, error) {
	var inv Invitation
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		cur, err := getInvitation(ctx, tx, now, id)
		if err != nil {
			return err
		}
		if cur.InviterID != inviterID {
			return ErrNoRecord
		}
		if cur.Status != StatusPending {
			return ErrNotPending
		}
		if at := cur.CanResendAt(); now.Before(at) {
			return &RateLimitError{
				Reason:     "You resent this invitation a moment ago. Try again in a few minutes.",
				RetryAfter: int(at.Sub(now).Seconds()) + 1,
			}
		}
		if err := m.checkRecipientRate(ctx, tx, now, EmailKey(cur.Email)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO replaced_tokens (token_hash, invitation_id, replaced_at)
			SELECT token_hash, id, CAST(? AS BIGINT) FROM invitations WHERE id = ? AND token_hash IS NOT NULL ON CONFLICT DO NOTHING`, unix(now), id); err != nil {
			return fmt.Errorf("models: keep replaced token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET token_hash = NULL, sent_at = ?, expires_at = ?, resends = resends + 1
			WHERE id = ?`, unix(now), unix(now.Add(m.opts.InviteExpiry)), id); err != nil {
			return fmt.Errorf("models: resend invitation: %w", err)
		}
		inviter, err := getUser(ctx, tx, inviterID)
		if err != nil {
			return err
		}
		if inv, err = getInvitation(ctx, tx, now, id); err != nil {
			return err
		}
		inv, err = m.queueInvitationEmail(ctx, tx, ch, now, inv, inviter)
		return err
	})
	return inv, err
}

// Revoke withdraws a pending invitation that inviterID sent and gives the
// invitation back.
func (m *Invitations) Revoke(ctx context.Context, inviterID, id int64) (Invitation, error) {
	return m.revoke(ctx, inviterID, id, false)
}

// RevokeAsStaff withdraws any pending invitation; staffID is recorded as the actor.
func (m *Invitations) RevokeAsStaff(ctx context.Context, staffID, id int64) (Invitation, error) {
	return m.revoke(ctx, staffID, id, true)
}

func (m *Invitations) revoke(ctx context.Context, actorID, id int64, anyInviter bool) (Invitation, error) {
	var inv Invitation
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		cur, err := getInvitation(ctx, tx, now, id)
		if err != nil {
			return err
		}
		if !anyInviter && cur.InviterID != actorID {
			return ErrNoRecord
		}
		if cur.Status != StatusPending {
			return ErrNotPending
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET revoked_at = ? WHERE id = ?`, unix(now), id); err != nil {
			return fmt.Errorf("models: revoke invitation: %w", err)
		}
		if err := endInvitations(ctx, tx, ch, now, StatusRevoked, actorID, "invitations", "id = ? AND status = 'pending'", id); err != nil {
			return err
		}
		if anyInviter {
			// One inviter got an invitation back.
			if err := audit(ctx, tx, now, actorID, ActionRevoke, sql.NullInt64{}, id, false, 1); err != nil {
				return err
			}
		}
		inv, err = getInvitation(ctx, tx, now, id)
		return err
	})
	return inv, err
}

// allOverdue is the invitations table read for overdue invitations: through
// the partial index of pending expiries, which holds just the pending ones
// in expiry order, with their inviter. Overdue ones are few (the sweep ends
// them every minute), so a sender's own are found among them too. Without
// statistics SQLite would rather take the status index and read every
// pending invitation, or the inviter's index and read all they ever sent.
func allOverdue(e Engine) string { return e.IndexedBy("invitations", "invitations_pending_expiry_idx") }

// ExpireDue is one run of the expiry sweep: every pending invitation past its
// expiry becomes expired and gives its invitation back, and every open
// shareable link past its expiry closes as expired and gives back its unused
// ones. It returns how many invitations expired.
func (m *Invitations) ExpireDue(ctx context.Context) (int, error) {
	var n int
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		n = 0
		if ok, err := m.trySweep(ctx, tx, sweepExpiry); !ok || err != nil {
			return err
		}
		now := m.now()
		before := len(ch.events)
		if err := endInvitations(ctx, tx, ch, now, StatusExpired, 0, allOverdue(m.engine),
			"status = 'pending' AND expires_at <= ?", unix(now)); err != nil {
			return err
		}
		n = len(ch.events) - before
		// Shareable links past their expiry end in the same run and give
		// back their unused invitations (SPEC 12).
		_, err := endLinks(ctx, tx, ch, now, LinkExpired, 0, "status = 'open' AND expires_at <= ?", unix(now))
		return err
	})
	return n, err
}

// endPendingForNewMember ends, as joined independently, every pending
// invitation to u's address (from any inviter, except exceptID), now that u
// holds that address proven.
func endPendingForNewMember(ctx context.Context, tx *sql.Tx, ch *change, u User, exceptID int64, now time.Time) error {
	return endInvitations(ctx, tx, ch, now, StatusJoinedIndependently, u.ID, "invitations",
		"status = 'pending' AND email_key = ? AND id <> ? AND expires_at > ?", EmailKey(u.Email), exceptID, unix(now))
}

// endStatusEvent is the event recorded when an invitation ends in a status.
var endStatusEvent = map[string]string{
	StatusExpired:             EventInvitationExpired,
	StatusRevoked:             EventInvitationRevoked,
	StatusJoinedIndependently: EventJoinedIndependently,
	StatusDeclined:            EventInviteDeclined,
}

// endInvitations moves the pending invitations matching where (over the
// invitations table, unaliased) to status, gives each its invitation back
// (one set-based UPDATE of the inviters), links the new member for
// joined_independently, and records one event per invitation. actorID is the
// user recorded on the events (0 for the system), and for joined
// independently the new member.
//
// from is the table the where clause reads: invitations, or allOverdue for
// the sweep.
func endInvitations(ctx context.Context, tx *sql.Tx, ch *change, now time.Time, status string, actorID int64, from, where string, args ...any) error {
	// Usually there is nothing to end: one cheap look spares the updates.
	var found bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+from+` WHERE `+where+`)`, args...).Scan(&found); err != nil {
		return fmt.Errorf("models: find invitations to end: %w", err)
	}
	if !found {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE allocations SET held = held - d.n
		FROM (SELECT inviter_id, count(*) AS n FROM `+from+` WHERE (`+where+`) AND holds_invitation = TRUE GROUP BY inviter_id) AS d
		WHERE allocations.user_id = d.inviter_id`, args...); err != nil {
		return fmt.Errorf("models: give invitations back: %w", err)
	}
	invitee := sql.NullInt64{}
	if status == StatusJoinedIndependently {
		invitee = sql.NullInt64{Int64: actorID, Valid: true}
	}
	ids, err := queryAll(ctx, tx, 0, scanID, `UPDATE `+from+` SET status = ?, ended_at = ?, invitee_id = coalesce(?, invitee_id)
		WHERE `+where+` RETURNING id`, append([]any{status, unix(now), invitee}, args...)...)
	if err != nil {
		return fmt.Errorf("models: end invitations: %w", err)
	}
	for _, id := range ids {
		inv, err := getInvitation(ctx, tx, now, id)
		if err != nil {
			return err
		}
		if err := record(ctx, tx, ch, Event{Kind: endStatusEvent[status], UserID: actorID, At: now, Invitation: &inv}); err != nil {
			return err
		}
	}
	return nil
}

// allocation reads a user's allocation through q (the database or a transaction).
func allocation(ctx context.Context, q queryer, userID int64) (Allocation, error) {
	var a Allocation
	err := q.QueryRowContext(ctx, `SELECT `+allocationColumns+` FROM allocations WHERE user_id = ?`,
		userID).Scan(&a.Allocated, &a.Unlimited, &a.Held, &a.Accepted)
	if errors.Is(err, sql.ErrNoRows) {
		return Allocation{}, ErrNoRecord
	}
	if err != nil {
		return Allocation{}, fmt.Errorf("models: allocation: %w", err)
	}
	return a, nil
}

// Allocation returns the user's allocation.
func (m *Users) Allocation(ctx context.Context, userID int64) (Allocation, error) {
	return allocation(ctx, m.db, userID)
}
