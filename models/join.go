package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LookupToken returns the invitation a link's token belongs to, changing
// nothing. When the link cannot be used it returns the invitation too (for
// the page that says why) with one of ErrInvitationExpired,
// ErrInvitationRevoked, ErrInvitationReplaced or ErrInvitationUsed; a token
// that was never issued gives ErrTokenUnknown.
func (m *Invitations) LookupToken(ctx context.Context, token string) (Invitation, error) {
	return lookupInvitationToken(ctx, m.db, m.now(), token)
}

func lookupInvitationToken(ctx context.Context, q queryer, now time.Time, token string) (Invitation, error) {
	if !plausibleToken(token) {
		return Invitation{}, ErrTokenUnknown
	}
	hash := HashToken(token)
	inv, err := one(q.QueryRowContext(ctx, invitationSelect+` WHERE i.token_hash = ?2`, unix(now), hash), scanInvitation)
	if errors.Is(err, ErrNoRecord) {
		inv, err = lookupEarlierInvitationToken(ctx, q, now, hash)
	}
	if err != nil {
		return inv, err
	}
	switch inv.Status {
	case StatusPending:
		return inv, nil
	case StatusExpired:
		return inv, ErrInvitationExpired
	case StatusRevoked:
		return inv, ErrInvitationRevoked
	case StatusDeclined:
		return inv, ErrInvitationDeclined
	default:
		return inv, ErrInvitationUsed
	}
}

// lookupEarlierInvitationToken finds a token that is no longer the
// invitation's current one. A token the worker minted for the invitation's
// latest email before minting again (the email went out, but its sending
// was never recorded) works like the current one; any other was replaced by
// a resend.
func lookupEarlierInvitationToken(ctx context.Context, q queryer, now time.Time, hash []byte) (Invitation, error) {
	var id int64
	var live bool
	err := q.QueryRowContext(ctx, `SELECT r.invitation_id, coalesce(r.outbox_id = i.outbox_id, false)
		FROM replaced_tokens r JOIN invitations i ON i.id = r.invitation_id WHERE r.token_hash = ?`, hash).Scan(&id, &live)
	if errors.Is(err, sql.ErrNoRows) {
		return Invitation{}, ErrTokenUnknown
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("models: look up earlier token: %w", err)
	}
	inv, err := getInvitation(ctx, q, now, id)
	if err != nil {
		return Invitation{}, err
	}
	if !live {
		return inv, ErrInvitationReplaced
	}
	return inv, nil
}

// Join creates the account of someone who followed an invitation link and
// accepts the invitation, in one transaction, so only one request can ever
// win a link. If nu.Email is the invited address it counts as verified (the
// email proved it) and every other pending invitation to it ends as joined
// independently; otherwise the new address gets a confirmation email.
func (m *Invitations) Join(ctx context.Context, token string, nu NewUser) (User, Invitation, error) {
	return m.join(ctx, token, nu, "")
}

// JoinSettingPassword is Join for the API flow in which the invitee only
// sets a password: the account takes the invited address, verified, and the
// event password_set is recorded as well.
func (m *Invitations) JoinSettingPassword(ctx context.Context, token string, nu NewUser) (User, Invitation, error) {
	return m.join(ctx, token, nu, EventPasswordSet)
}

func (m *Invitations) join(ctx context.Context, token string, nu NewUser, extraEvent string) (User, Invitation, error) {
	// What can be refused without the lock is, and the password is hashed,
	// before the write (the writer contract, rule 3); the transaction
	// checks all again.
	inv, err := lookupInvitationToken(ctx, m.db, m.now(), token)
	if err != nil {
		return User{}, inv, err
	}
	if extraEvent == EventPasswordSet {
		nu.Email = inv.Email
	}
	if err := m.prepareUser(ctx, &nu); err != nil {
		return User{}, inv, err
	}
	var u User
	err = m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		var err error
		if inv, err = lookupInvitationToken(ctx, tx, now, token); err != nil {
			return err
		}
		if err := checkJoiningOpen(ctx, tx); err != nil {
			return err
		}
		if extraEvent == EventPasswordSet {
			nu.Email = inv.Email
		}
		nu.Verified = EmailKey(nu.Email) == EmailKey(inv.Email)
		nu.Staff, nu.Superuser = false, false
		if u, err = insertUser(ctx, tx, m.core, ch, nu, inv.InviterID, inv.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE invitations SET status = 'accepted', accepted_at = ?, ended_at = ?, invitee_id = ?
			WHERE id = ? AND status = 'pending'`, unix(now), unix(now), u.ID, inv.ID)
		if err != nil {
			return fmt.Errorf("models: accept invitation: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrInvitationUsed
		}
		// An invitation that holds none of its inviter's (an approved
		// request) counts for nobody's allocation.
		if _, err := tx.ExecContext(ctx, countAcceptedSQL+` AND EXISTS (SELECT 1 FROM invitations WHERE id = ? AND holds_invitation = TRUE)`,
			inv.InviterID, inv.ID); err != nil {
			return fmt.Errorf("models: count acceptance: %w", err)
		}
		if inv, err = getInvitation(ctx, tx, now, inv.ID); err != nil {
			return err
		}
		if err := record(ctx, tx, ch, Event{Kind: EventInviteAccepted, UserID: u.ID, At: now, Invitation: &inv}); err != nil {
			return err
		}
		// In this transaction, so the inviter hears of it exactly when the
		// join commits, once (notifyInviterOfJoin's key).
		if err := notifyInviterOfJoin(ctx, tx, ch, m.core, now, inv, u); err != nil {
			return err
		}
		if extraEvent != "" {
			return record(ctx, tx, ch, Event{Kind: extraEvent, UserID: u.ID, At: now, Invitation: &inv})
		}
		return nil
	})
	if err != nil {
		return User{}, inv, err
	}
	return u, inv, nil
}
