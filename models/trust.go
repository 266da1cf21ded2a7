package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Section 11's second half on invitations: the refusals of a new
// invitation (blocked domain, opted out, too new to invite), opting out,
// declining, expiring every pending invitation, and earned invitations.

// Audit actions of this file.
const (
	ActionExpireAll = "expire_all" // amount: invitations expired; users_changed: their inviters
	ActionEarned    = "earned"     // amount: invitations earned; target: the inviter
)

// inviteFacts is what an invitation's checks need to know from the
// database, read in one statement inside its transaction (the single
// writer runs each statement of every invitation: one look instead of four
// was a tenth of its time per invitation; docs/performance.md). The checks
// themselves stay in the order SPEC 5 and 11 give them: see create and
// refusal.
type inviteFacts struct {
	member, invited, overdue bool   // the address is a member's; the inviter invited it already; the inviter has overdue invitations
	blockedDomain            string // the blocked domain the address is at or under, or ""
	optedOut                 bool
	suspended, invitingOff   bool // the inviter's standing
	invitingOffReason        string
}

// readInviteFacts reads the facts about an invitation from inviterID to
// the address key at now.
func (m *Invitations) readInviteFacts(ctx context.Context, tx *sql.Tx, now time.Time, inviterID int64, key string) (inviteFacts, error) {
	var f inviteFacts
	args := []any{key, inviterID, unix(now)}
	blocked := "''"
	if query, domains, ok := blockedDomainSQL(key, len(args)+1); ok {
		args = append(args, domains...)
		blocked = "coalesce((" + query + "), '')"
	}
	// An overdue pending invitation reads as expired already: it is neither
	// a duplicate nor held, and create makes it durable.
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email_key = ?1),
		EXISTS (SELECT 1 FROM invitations WHERE inviter_id = ?2 AND email_key = ?1 AND status = 'pending' AND expires_at > ?3),
		EXISTS (SELECT 1 FROM `+allOverdue(m.engine)+` WHERE inviter_id = ?2 AND status = 'pending' AND expires_at <= ?3),
		`+blocked+`,
		EXISTS (SELECT 1 FROM optouts WHERE email_key = ?1),
		mo.suspended_at IS NOT NULL, mo.inviting_off_at IS NOT NULL, coalesce(mo.inviting_off_reason, '')
		FROM (SELECT 1 AS one) AS x LEFT JOIN moderation mo ON mo.user_id = CAST(?2 AS BIGINT)`, args...).Scan(
		&f.member, &f.invited, &f.overdue, &f.blockedDomain, &f.optedOut, &f.suspended, &f.invitingOff, &f.invitingOffReason)
	if err != nil {
		return inviteFacts{}, fmt.Errorf("models: invitation checks: %w", err)
	}
	return f, nil
}

// refusal is section 11's refusals of an invitation from inviter, in the
// order the spec lists them (blocked domain, opted out, too new to invite),
// then the inviter's standing (suspended, inviting off). create asks it
// after the member and duplicate checks and before an invitation is taken.
func (f inviteFacts) refusal(m *Invitations, inviter User, now time.Time) error {
	switch {
	case f.blockedDomain != "":
		return ErrDomainBlocked.With(Facts{Domain: f.blockedDomain})
	case f.optedOut:
		return ErrOptedOut
	}
	if from := m.inviteFrom(inviter, now); !from.IsZero() {
		return ErrTooNew.With(Facts{Date: from})
	}
	switch {
	case f.suspended:
		return ErrSuspended
	case f.invitingOff:
		return ErrInvitingDisabled.With(Facts{Reason: f.invitingOffReason})
	}
	return nil
}

// InviteFrom is when u may first invite, when that is still to come, and
// zero otherwise: members wait InviteMinAge after joining; staff never do.
func (m *Invitations) InviteFrom(u User) time.Time {
	return m.inviteFrom(u, m.now())
}

func (m *Invitations) inviteFrom(u User, now time.Time) time.Time {
	if m.opts.InviteMinAge <= 0 || u.IsStaff() {
		return time.Time{}
	}
	if from := u.JoinedAt.Add(m.opts.InviteMinAge); from.After(now) {
		return from
	}
	return time.Time{}
}

// deadLink reports whether err is one of the reasons a known link is dead.
func deadLink(err error) bool {
	for _, e := range []error{ErrInvitationExpired, ErrInvitationRevoked, ErrInvitationReplaced, ErrInvitationUsed, ErrInvitationDeclined} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// LookupOptOut returns the invitation whose link (current or replaced) is
// token, whatever became of it, changing nothing: the opt-out link of an
// email is its join link's token, so it needs no secret of its own and
// keeps working after the invitation ended. An unknown token gives
// ErrTokenUnknown.
func (m *Invitations) LookupOptOut(ctx context.Context, token string) (Invitation, error) {
	inv, err := lookupInvitationToken(ctx, m.db, m.now(), token)
	if deadLink(err) {
		err = nil
	}
	return inv, err
}

// OptOut puts the address of the invitation whose link is token on the
// do-not-invite list and revokes every pending invitation to it, from any
// inviter (each given back, each with its event), in one transaction. It
// returns the invitation and how many were revoked.
func (m *Invitations) OptOut(ctx context.Context, token string) (Invitation, int, error) {
	var inv Invitation
	var revoked int
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		var err error
		if inv, err = lookupInvitationToken(ctx, tx, now, token); err != nil && !deadLink(err) {
			return err
		}
		key := EmailKey(inv.Email)
		if _, err := tx.ExecContext(ctx, `INSERT INTO optouts (email_key, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			key, unix(now)); err != nil {
			return fmt.Errorf("models: opt out: %w", err)
		}
		// Overdue invitations are left to the sweep, which ends them as expired.
		const pending = "status = 'pending' AND email_key = ? AND expires_at > ?"
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET revoked_at = ? WHERE `+pending, unix(now), key, unix(now)); err != nil {
			return fmt.Errorf("models: opt out: %w", err)
		}
		before := len(ch.events)
		if err := endInvitations(ctx, tx, ch, now, StatusRevoked, 0, "invitations", pending, key, unix(now)); err != nil {
			return err
		}
		revoked = len(ch.events) - before
		return nil
	})
	return inv, revoked, err
}

// Decline ends the pending invitation whose link is token as declined and
// gives the invitation back, with the event invite_declined. A link that
// cannot be used gives its reason, as LookupToken does, with the invitation.
func (m *Invitations) Decline(ctx context.Context, token string) (Invitation, error) {
	var inv Invitation
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		var err error
		if inv, err = lookupInvitationToken(ctx, tx, now, token); err != nil {
			return err
		}
		if err := endInvitations(ctx, tx, ch, now, StatusDeclined, 0, "invitations", "id = ? AND status = 'pending'", inv.ID); err != nil {
			return err
		}
		inv, err = getInvitation(ctx, tx, now, inv.ID)
		return err
	})
	return inv, err
}

// ExpireAll ends every pending invitation as expired, now, and gives each
// back, in one transaction with one audit row. It returns how many
// invitations it ended.
func (s *Staff) ExpireAll(ctx context.Context, actorID int64) (int, error) {
	var n int
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		at := s.now()
		now := unix(at)
		var inviters int
		if err := tx.QueryRowContext(ctx, `SELECT count(DISTINCT inviter_id) FROM invitations WHERE status = 'pending'`).Scan(&inviters); err != nil {
			return fmt.Errorf("models: expire all: %w", err)
		}
		// Their links then say they expired now, not on the date they would have.
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET expires_at = ?1 WHERE status = 'pending' AND expires_at > ?1`, now); err != nil {
			return fmt.Errorf("models: expire all: %w", err)
		}
		before := len(ch.events)
		if err := endInvitations(ctx, tx, ch, at, StatusExpired, actorID, allOverdue(s.engine),
			"status = 'pending' AND expires_at <= ?", now); err != nil {
			return err
		}
		n = len(ch.events) - before
		return audit(ctx, tx, at, actorID, ActionExpireAll, sql.NullInt64{Int64: int64(n), Valid: true}, 0, false, inviters)
	})
	return n, err
}

// Earned is what one run of the earned-invitations sweep did.
type Earned struct {
	Invitees int // members through whom their inviter earned
	Inviters int // inviters whose allocation grew
}

// earnCandidates are the members through whom their inviter earns now:
// joined through a member's invitation, in the window of join times
// (?1, ?2] that became old enough since the last run, never suspended, and
// not earned through before. "Never suspended" asks moderation's lasting
// ever_suspended mark rather than the member's current standing, which an
// unsuspension clears.
const earnCandidates = ` FROM users u WHERE u.joined_at > ?1 AND u.joined_at <= ?2 AND u.invited_by IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM moderation mo WHERE mo.user_id = u.id AND mo.ever_suspended = TRUE)
	AND NOT EXISTS (SELECT 1 FROM earned_invitations e WHERE e.invitee_id = u.id)`

// EarnDue is one run of the earned-invitations sweep: for each member who
// joined through an invitation and has now been a member in good standing
// for EarnAfter, their inviter's limited allocation grows by EarnAmount,
// once per invitee. Set-based: one statement for the audit rows (one per
// inviter), one for the allocations, one to record the invitees, in one
// transaction. Off while EarnAfter is 0.
func (m *Invitations) EarnDue(ctx context.Context) (Earned, error) {
	var out Earned
	if m.opts.EarnAfter <= 0 {
		return out, nil
	}
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		out = Earned{}
		if ok, err := m.trySweep(ctx, tx, sweepEarned); !ok || err != nil {
			return err
		}
		now := m.now()
		cutoff := unix(now.Add(-m.opts.EarnAfter))
		var from int64
		if err := tx.QueryRowContext(ctx, `SELECT earned_through FROM site_settings WHERE id = 1`).Scan(&from); err != nil {
			return fmt.Errorf("models: earned invitations: %w", err)
		}
		if cutoff <= from {
			return nil // nobody new is old enough (or EarnAfter grew)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE site_settings SET earned_through = ? WHERE id = 1`, cutoff); err != nil {
			return fmt.Errorf("models: earned invitations: %w", err)
		}
		var found bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1`+earnCandidates+`)`, from, cutoff).Scan(&found); err != nil {
			return fmt.Errorf("models: earned invitations: %w", err)
		}
		if !found {
			return nil
		}
		amount := m.opts.EarnAmount
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (actor_id, action, amount, target_id, only_empty, users_changed, created_at)
			SELECT NULL, CAST(?4 AS TEXT), CAST(?3 AS BIGINT) * count(*), u.invited_by, FALSE,
				coalesce((SELECT CASE WHEN a.unlimited THEN 0 ELSE 1 END FROM allocations a WHERE a.user_id = u.invited_by), 0),
				CAST(?5 AS BIGINT)`+earnCandidates+`
			GROUP BY u.invited_by`, from, cutoff, amount, ActionEarned, unix(now)); err != nil {
			return fmt.Errorf("models: audit earned invitations: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE allocations SET allocated = allocated + ?3 * d.n
			FROM (SELECT u.invited_by AS inviter_id, count(*) AS n`+earnCandidates+` GROUP BY u.invited_by) AS d
			WHERE allocations.user_id = d.inviter_id AND allocations.unlimited = FALSE`, from, cutoff, amount)
		if err != nil {
			return fmt.Errorf("models: earn invitations: %w", err)
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("models: earn invitations: %w", err)
		}
		out.Inviters = int(changed)
		rows, err := tx.QueryContext(ctx, `INSERT INTO earned_invitations (invitee_id, inviter_id, amount, earned_at)
			SELECT u.id, u.invited_by, ?3, ?4`+earnCandidates+` RETURNING invitee_id, inviter_id`, from, cutoff, amount, unix(now))
		if err != nil {
			return fmt.Errorf("models: record earned invitations: %w", err)
		}
		type pair struct{ invitee, inviter int64 }
		var pairs []pair
		for rows.Next() {
			var p pair
			if err := rows.Scan(&p.invitee, &p.inviter); err != nil {
				rows.Close()
				return fmt.Errorf("models: record earned invitations: %w", err)
			}
			pairs = append(pairs, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("models: record earned invitations: %w", err)
		}
		out.Invitees = len(pairs)
		for _, p := range pairs {
			if err := record(ctx, tx, ch, Event{Kind: EventInvitationsEarned, UserID: p.inviter, At: now,
				Data: map[string]any{"inviter_id": p.inviter, "invitee_id": p.invitee, "amount": amount}}); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
