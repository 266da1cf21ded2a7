package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Moderation (SPEC section 11): suspending a member, turning their inviting
// off, and acting on a whole subtree (everyone a member brought in, and
// everyone those brought in, and so on). These are staff operations, so they
// hang off Staff; a member's standing is kept in the moderation table
// (migration 0012), which has a row only for members staff acted on.

// Moderation actions, as written in the audit log.
const (
	ActionSuspend        = "suspend"
	ActionUnsuspend      = "unsuspend"
	ActionInvitingOff    = "inviting_off"
	ActionInvitingOn     = "inviting_on"
	ActionSubtreeRevoke  = "subtree_revoke"
	ActionSubtreeSuspend = "subtree_suspend"
)

// Moderation event kinds.
const (
	EventMemberSuspended   = "member_suspended"
	EventMemberUnsuspended = "member_unsuspended"
	EventInvitingDisabled  = "inviting_disabled"
	EventInvitingEnabled   = "inviting_enabled"
)

// MaxReasonLength bounds the reason staff give for a moderation action.
const MaxReasonLength = 500

// InvitingOffMessage is what a member whose inviting is off is told.
func InvitingOffMessage(reason string) string {
	return ErrInvitingDisabled.Text(Facts{Reason: reason})
}

// SuspendedMessage is what a suspended member is told at sign-in.
var SuspendedMessage = ErrSuspended.Message

// CheckReason validates a reason given in a form (a staff member's reason to
// suspend or decline, a visitor's reason to ask): at most MaxReasonLength
// characters, with a note's rules for hidden characters, and present when
// required. reason must be trimmed.
func CheckReason(v *Validator, field, reason string, required bool) {
	v.Check(!required || reason != "", field, "Give a reason; it goes in the audit log.")
	v.Check(utf8.RuneCountInString(reason) <= MaxReasonLength, field, fmt.Sprintf("Keep the reason to %d characters.", MaxReasonLength))
	v.Check(PlainText(reason), field, hiddenMessage)
}

// Standing is a member's moderation state; the zero value is good standing.
type Standing struct {
	Suspended         bool
	SuspendedAt       time.Time
	SuspendedReason   string
	EverSuspended     bool
	InvitingOff       bool
	InvitingOffAt     time.Time
	InvitingOffReason string
}

// Standing returns the user's moderation state.
func (s *Staff) Standing(ctx context.Context, userID int64) (Standing, error) {
	return standing(ctx, s.db, userID)
}

func standing(ctx context.Context, q queryer, userID int64) (Standing, error) {
	var st Standing
	var suspended, off sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT suspended_at, suspended_reason, ever_suspended, inviting_off_at, inviting_off_reason
		FROM moderation WHERE user_id = ?`, userID).Scan(&suspended, &st.SuspendedReason, &st.EverSuspended, &off, &st.InvitingOffReason)
	if errors.Is(err, sql.ErrNoRows) {
		return Standing{}, nil
	}
	if err != nil {
		return Standing{}, fmt.Errorf("models: standing: %w", err)
	}
	st.Suspended, st.SuspendedAt = suspended.Valid, fromUnix(suspended)
	st.InvitingOff, st.InvitingOffAt = off.Valid, fromUnix(off)
	return st, nil
}

// Suspended reports whether the user is suspended: one primary-key lookup,
// cheap enough for every signed-in request.
func (s *Staff) Suspended(ctx context.Context, userID int64) (bool, error) {
	var suspended bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM moderation WHERE user_id = ? AND suspended_at IS NOT NULL)`,
		userID).Scan(&suspended); err != nil {
		return false, fmt.Errorf("models: suspended: %w", err)
	}
	return suspended, nil
}

// ModerationResult is what a moderation action changed.
type ModerationResult struct {
	UsersChanged       int // members suspended, unsuspended, or whose inviting changed; for a subtree revoke, inviters given invitations back
	InvitationsRevoked int // pending invitations revoked (given back)
	TokensRevoked      int // API tokens revoked
}

// moderationAudit writes one audit row for a moderation action and returns
// its id; the counts are filled in by finishAudit once known.
func moderationAudit(ctx context.Context, tx *sql.Tx, eng Engine, now time.Time, actorID int64, action string, targetID int64, reason string) (int64, error) {
	id, err := insertID(ctx, tx, eng, `INSERT INTO audit_log (actor_id, action, target_id, users_changed, reason, created_at)
		VALUES (nullif(CAST(? AS BIGINT), 0), ?, ?, 0, ?, ?)`, actorID, action, targetID, reason, unix(now))
	if err != nil {
		return 0, fmt.Errorf("models: audit: %w", err)
	}
	return id, nil
}

func finishAudit(ctx context.Context, tx *sql.Tx, id int64, res ModerationResult) error {
	if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET users_changed = ?, invitations_changed = ? WHERE id = ?`,
		res.UsersChanged, res.InvitationsRevoked, id); err != nil {
		return fmt.Errorf("models: audit: %w", err)
	}
	return nil
}

// target reads the member an action is on: ErrNoRecord when there is none,
// ErrSelfModeration when it is the staff member acting.
func target(ctx context.Context, tx *sql.Tx, actorID, userID int64) error {
	if _, err := getUser(ctx, tx, userID); err != nil {
		return err
	}
	if actorID != 0 && actorID == userID {
		return ErrSelfModeration
	}
	return nil
}

// Suspend suspends a member: they can no longer sign in, their API tokens
// are revoked and their pending invitations revoked and given back (the
// links then say they were withdrawn); the handlers end their sessions on
// the next request. Suspending a suspended member changes nothing.
func (s *Staff) Suspend(ctx context.Context, actorID, userID int64, reason string) (ModerationResult, error) {
	var res ModerationResult
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res = ModerationResult{}
		now := s.now()
		if err := target(ctx, tx, actorID, userID); err != nil {
			return err
		}
		auditID, err := moderationAudit(ctx, tx, s.engine, now, actorID, ActionSuspend, userID, reason)
		if err != nil {
			return err
		}
		if err := fillSet(ctx, tx, `SELECT ?`, userID); err != nil {
			return err
		}
		if res, err = suspendSet(ctx, s.engine, tx, ch, now, actorID, auditID, reason); err != nil {
			return err
		}
		if res.UsersChanged > 0 {
			// A member's own pending invitations are few: the shared code
			// that ends invitations (one event each) is right here.
			before := len(ch.events)
			if _, err := tx.ExecContext(ctx, `UPDATE invitations SET revoked_at = ? WHERE status = 'pending' AND expires_at > ? AND inviter_id = ?`,
				unix(now), unix(now), userID); err != nil {
				return fmt.Errorf("models: suspend: %w", err)
			}
			if err := endInvitations(ctx, tx, ch, now, StatusRevoked, actorID, "invitations",
				"status = 'pending' AND expires_at > ? AND inviter_id = ?", unix(now), userID); err != nil {
				return err
			}
			res.InvitationsRevoked = len(ch.events) - before
		}
		if err := clearSet(ctx, tx); err != nil {
			return err
		}
		return finishAudit(ctx, tx, auditID, res)
	})
	return res, err
}

// Unsuspend lets a suspended member sign in again. Nothing that the
// suspension revoked comes back.
func (s *Staff) Unsuspend(ctx context.Context, actorID, userID int64, reason string) (ModerationResult, error) {
	var res ModerationResult
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res = ModerationResult{}
		now := s.now()
		if _, err := getUser(ctx, tx, userID); err != nil {
			return err
		}
		auditID, err := moderationAudit(ctx, tx, s.engine, now, actorID, ActionUnsuspend, userID, reason)
		if err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE moderation SET suspended_at = NULL, suspended_reason = '', suspended_audit_id = NULL
			WHERE user_id = ? AND suspended_at IS NOT NULL`, userID)
		if err != nil {
			return fmt.Errorf("models: unsuspend: %w", err)
		}
		n, _ := r.RowsAffected()
		res.UsersChanged = int(n)
		if n > 0 {
			if err := record(ctx, tx, ch, Event{Kind: EventMemberUnsuspended, UserID: actorID, At: now,
				Data: map[string]any{"target_user_id": userID, "reason": reason}}); err != nil {
				return err
			}
		}
		return finishAudit(ctx, tx, auditID, res)
	})
	return res, err
}

// SetInviting turns a member's inviting off (with a reason, which a later
// call may change) or on again. Their pending invitations keep working.
func (s *Staff) SetInviting(ctx context.Context, actorID, userID int64, on bool, reason string) (ModerationResult, error) {
	var res ModerationResult
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res = ModerationResult{}
		now := s.now()
		action, kind := ActionInvitingOn, EventInvitingEnabled
		if !on {
			action, kind = ActionInvitingOff, EventInvitingDisabled
			if err := target(ctx, tx, actorID, userID); err != nil {
				return err
			}
		} else if _, err := getUser(ctx, tx, userID); err != nil {
			return err
		}
		auditID, err := moderationAudit(ctx, tx, s.engine, now, actorID, action, userID, reason)
		if err != nil {
			return err
		}
		var r sql.Result
		if on {
			r, err = tx.ExecContext(ctx, `UPDATE moderation SET inviting_off_at = NULL, inviting_off_reason = ''
				WHERE user_id = ? AND inviting_off_at IS NOT NULL`, userID)
		} else {
			r, err = tx.ExecContext(ctx, `INSERT INTO moderation (user_id, inviting_off_at, inviting_off_reason) VALUES (?1, ?2, ?3)
				ON CONFLICT (user_id) DO UPDATE SET inviting_off_at = coalesce(moderation.inviting_off_at, excluded.inviting_off_at),
					inviting_off_reason = excluded.inviting_off_reason
				WHERE moderation.inviting_off_at IS NULL OR moderation.inviting_off_reason <> excluded.inviting_off_reason`,
				userID, unix(now), reason)
		}
		if err != nil {
			return fmt.Errorf("models: %s: %w", action, err)
		}
		n, _ := r.RowsAffected()
		res.UsersChanged = int(n)
		if n > 0 {
			if err := record(ctx, tx, ch, Event{Kind: kind, UserID: actorID, At: now,
				Data: map[string]any{"target_user_id": userID, "reason": reason}}); err != nil {
				return err
			}
		}
		return finishAudit(ctx, tx, auditID, res)
	})
	return res, err
}

// The members an action is on are put in moderation_set, a temporary table
// of the writer's connection, once per action: a whole subtree is walked
// once (a recursive query over users.invited_by) and each set-based
// statement after it joins the set by primary key.
const (
	createSetSQL = `CREATE TEMP TABLE IF NOT EXISTS moderation_set (id INTEGER PRIMARY KEY)`
	// subtreeCTE is the member ?1 and everyone below them. An invitee always
	// joined after their inviter, so following only larger ids cannot loop
	// even on a damaged table.
	subtreeCTE = `WITH RECURSIVE sub(id) AS (
		SELECT CAST(?1 AS BIGINT)
		UNION ALL
		SELECT u.id FROM users u JOIN sub ON u.invited_by = sub.id WHERE u.id > sub.id)`
)

// fillSet puts the ids that query selects into moderation_set, emptied first.
func fillSet(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	if _, err := tx.ExecContext(ctx, createSetSQL); err != nil {
		return fmt.Errorf("models: moderation set: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM moderation_set`); err != nil {
		return fmt.Errorf("models: moderation set: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO moderation_set (id) `+query, args...); err != nil {
		return fmt.Errorf("models: moderation set: %w", err)
	}
	return nil
}

// fillSubtree puts userID and their subtree, less the acting staff member,
// into moderation_set.
func fillSubtree(ctx context.Context, tx *sql.Tx, actorID, userID int64) error {
	if _, err := tx.ExecContext(ctx, createSetSQL); err != nil {
		return fmt.Errorf("models: moderation set: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM moderation_set`); err != nil {
		return fmt.Errorf("models: moderation set: %w", err)
	}
	if _, err := tx.ExecContext(ctx, subtreeCTE+` INSERT INTO moderation_set (id) SELECT id FROM sub WHERE id <> ?2`,
		userID, actorID); err != nil {
		return fmt.Errorf("models: walk subtree: %w", err)
	}
	return nil
}

func clearSet(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM moderation_set`); err != nil {
		return fmt.Errorf("models: moderation set: %w", err)
	}
	return nil
}

// suspendSet suspends the members of moderation_set not suspended yet, with
// an event each, revokes the API tokens of every member of the set and
// closes their open shareable links (giving back the unused invitations). It
// leaves their invitations alone.
func suspendSet(ctx context.Context, e Engine, tx *sql.Tx, ch *change, now time.Time, actorID, auditID int64, reason string) (ModerationResult, error) {
	var res ModerationResult
	// The events first, while "not suspended yet" still tells who changes.
	before, err := lastEventID(ctx, tx)
	if err != nil {
		return res, err
	}
	ins, err := tx.ExecContext(ctx, `INSERT INTO events (kind, user_id, subject_id, data, created_at)
		SELECT CAST(?1 AS TEXT), nullif(CAST(?2 AS BIGINT), 0), s.id, `+e.JSONObject("'reason'", "CAST(?3 AS TEXT)", "'target_user_id'", "s.id")+`, CAST(?4 AS BIGINT)
		FROM moderation_set s LEFT JOIN moderation m ON m.user_id = s.id
		WHERE m.suspended_at IS NULL`, EventMemberSuspended, actorID, reason, unix(now))
	if err != nil {
		return res, fmt.Errorf("models: suspend: %w", err)
	}
	inserted, _ := ins.RowsAffected()
	if err := queueDeliveriesAfter(ctx, tx, before); err != nil {
		return res, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, subject_id FROM events WHERE id > ?`, before)
	if err != nil {
		return res, fmt.Errorf("models: suspend: %w", err)
	}
	evs := make([]Event, 0, inserted)
	for rows.Next() {
		var id, target int64
		if err := rows.Scan(&id, &target); err != nil {
			rows.Close()
			return res, fmt.Errorf("models: suspend: %w", err)
		}
		evs = append(evs, Event{ID: id, Kind: EventMemberSuspended, UserID: actorID, At: now,
			Data: map[string]any{"target_user_id": target, "reason": reason}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("models: suspend: %w", err)
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO moderation (user_id, suspended_at, suspended_reason, suspended_audit_id, ever_suspended)
		SELECT id, CAST(?1 AS BIGINT), CAST(?2 AS TEXT), CAST(?3 AS BIGINT), TRUE FROM moderation_set WHERE true
		ON CONFLICT (user_id) DO UPDATE SET suspended_at = excluded.suspended_at, suspended_reason = excluded.suspended_reason,
			suspended_audit_id = excluded.suspended_audit_id, ever_suspended = TRUE
		WHERE moderation.suspended_at IS NULL`, unix(now), reason, auditID)
	if err != nil {
		return res, fmt.Errorf("models: suspend: %w", err)
	}
	n, _ := r.RowsAffected()
	res.UsersChanged = int(n)
	if r, err = tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ?
		WHERE revoked_at IS NULL AND user_id IN (SELECT id FROM moderation_set)`, unix(now)); err != nil {
		return res, fmt.Errorf("models: revoke api tokens: %w", err)
	}
	n, _ = r.RowsAffected()
	res.TokensRevoked = int(n)
	ch.events = append(ch.events, evs...)
	// Their shareable links close, giving back the unused invitations (SPEC 11).
	if _, err := endLinks(ctx, tx, ch, now, LinkClosed, actorID, "status = 'open' AND creator_id IN (SELECT id FROM moderation_set)"); err != nil {
		return res, err
	}
	return res, nil
}

// revokeSetInvitations revokes every pending, unexpired invitation sent by
// the members of moderation_set and gives each back: what endInvitations
// does, set-based. (endInvitations reads each ended invitation and writes
// its event one at a time, which for a subtree of 100,000 members took
// seconds.) The invitations are found once, from the set through each
// inviter's index (not through every pending invitation of the site), into
// moderation_invs; the events, the allocations and the invitations are then
// one statement each. Overdue ones are left alone: they read as expired
// already, and the sweep ends them as such. It returns how many invitations
// it revoked and how many inviters got invitations back.
func revokeSetInvitations(ctx context.Context, e Engine, tx *sql.Tx, ch *change, now time.Time, actorID int64) (invitations, inviters int, err error) {
	for _, q := range []string{
		`CREATE TEMP TABLE IF NOT EXISTS moderation_invs (id INTEGER PRIMARY KEY, inviter_id INTEGER NOT NULL, email TEXT NOT NULL)`,
		`DELETE FROM moderation_invs`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("models: revoke invitations: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO moderation_invs (id, inviter_id, email)
		SELECT i.id, i.inviter_id, i.email FROM moderation_set s CROSS JOIN `+e.IndexedBy("invitations i", "invitations_inviter_idx")+`
		WHERE i.inviter_id = s.id AND i.status = 'pending' AND i.expires_at > ?`, unix(now)); err != nil {
		return 0, 0, fmt.Errorf("models: find invitations to revoke: %w", err)
	}
	before, err := lastEventID(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	ins, err := tx.ExecContext(ctx, `INSERT INTO events (kind, user_id, subject_id, inviter_id, data, created_at)
		SELECT CAST(?1 AS TEXT), nullif(CAST(?2 AS BIGINT), 0), id, inviter_id,
			`+e.JSONObject("'email'", "email", "'invitation_id'", "id", "'inviter_id'", "inviter_id", "'status'", "'revoked'")+`, CAST(?3 AS BIGINT)
		FROM moderation_invs WHERE true`, EventInvitationRevoked, actorID, unix(now))
	if err != nil {
		return 0, 0, fmt.Errorf("models: revoke invitations: %w", err)
	}
	inserted, _ := ins.RowsAffected()
	if err := queueDeliveriesAfter(ctx, tx, before); err != nil {
		return 0, 0, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT e.id, i.id, i.inviter_id, i.email FROM events e JOIN moderation_invs i ON i.id = e.subject_id
		WHERE e.id > ?`, before)
	if err != nil {
		return 0, 0, fmt.Errorf("models: revoke invitations: %w", err)
	}
	// One allocation each for the events and their invitations.
	evs := make([]Event, 0, inserted)
	invs := make([]Invitation, inserted)
	for i := 0; rows.Next(); i++ {
		if i == len(invs) {
			invs = append(invs, Invitation{})
		}
		inv := &invs[i]
		inv.Status, inv.RevokedAt = StatusRevoked, now
		ev := Event{Kind: EventInvitationRevoked, UserID: actorID, At: now, Invitation: inv}
		if err := rows.Scan(&ev.ID, &inv.ID, &inv.InviterID, &inv.Email); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("models: revoke invitations: %w", err)
		}
		evs = append(evs, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("models: revoke invitations: %w", err)
	}
	if len(evs) == 0 {
		return 0, 0, nil
	}
	r, err := tx.ExecContext(ctx, `UPDATE allocations SET held = held - d.n
		FROM (SELECT inviter_id, count(*) AS n FROM moderation_invs GROUP BY inviter_id) AS d
		WHERE allocations.user_id = d.inviter_id`)
	if err != nil {
		return 0, 0, fmt.Errorf("models: give invitations back: %w", err)
	}
	n, _ := r.RowsAffected()
	inviters = int(n)
	if r, err = tx.ExecContext(ctx, `UPDATE invitations SET status = 'revoked', revoked_at = ?1, ended_at = ?1
		WHERE id IN (SELECT id FROM moderation_invs)`, unix(now)); err != nil {
		return 0, 0, fmt.Errorf("models: revoke invitations: %w", err)
	}
	n, _ = r.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM moderation_invs`); err != nil {
		return 0, 0, fmt.Errorf("models: revoke invitations: %w", err)
	}
	ch.events = append(ch.events, evs...)
	return int(n), inviters, nil
}

// lastEventID is the newest event's id. The events a set-based INSERT adds
// after it are read back by id, which costs less than RETURNING them
// (SQLite keeps RETURNING rows aside and hands them out one by one).
func lastEventID(ctx context.Context, tx *sql.Tx) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("models: last event: %w", err)
	}
	return id, nil
}

// SubtreeStats describes a member's subtree (the member not included).
type SubtreeStats struct {
	Size      int      // members in it
	Depth     int      // levels below the member: 1 when only direct invitees
	Suspended int      // suspended members in it
	Names     []string // usernames of the first suspended ones, by id
}

// maxSuspendedNames bounds the suspended members a subtree lists by name.
const maxSuspendedNames = 20

// Subtree measures a member's subtree in one recursive query.
func (s *Staff) Subtree(ctx context.Context, userID int64) (SubtreeStats, error) {
	var st SubtreeStats
	err := s.db.QueryRowContext(ctx, `WITH RECURSIVE sub(id, depth) AS (
			SELECT CAST(?1 AS BIGINT), 0
			UNION ALL
			SELECT u.id, sub.depth + 1 FROM users u JOIN sub ON u.invited_by = sub.id WHERE u.id > sub.id)
		SELECT count(*), coalesce(max(depth), 0), count(m.user_id)
		FROM sub LEFT JOIN moderation m ON m.user_id = sub.id AND m.suspended_at IS NOT NULL
		WHERE sub.id <> ?1`, userID).Scan(&st.Size, &st.Depth, &st.Suspended)
	if err != nil {
		return SubtreeStats{}, fmt.Errorf("models: subtree: %w", err)
	}
	if st.Suspended == 0 {
		return st, nil
	}
	rows, err := s.db.QueryContext(ctx, subtreeCTE+`
		SELECT u.username FROM sub JOIN moderation m ON m.user_id = sub.id AND m.suspended_at IS NOT NULL
		JOIN users u ON u.id = sub.id WHERE sub.id <> ?1 ORDER BY sub.id LIMIT ?2`, userID, maxSuspendedNames)
	if err != nil {
		return SubtreeStats{}, fmt.Errorf("models: subtree: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return SubtreeStats{}, fmt.Errorf("models: subtree: %w", err)
		}
		st.Names = append(st.Names, name)
	}
	if err := rows.Err(); err != nil {
		return SubtreeStats{}, fmt.Errorf("models: subtree: %w", err)
	}
	return st, nil
}

// Subtree actions.
const (
	SubtreeRevoke  = "revoke"
	SubtreeSuspend = "suspend"
)

// SubtreePreview is what a subtree action would change: exactly what the
// action reports when run at once, on the same data.
type SubtreePreview struct {
	Action      string
	Members     int // members suspended, or inviters given invitations back
	Invitations int // pending invitations revoked
}

// PreviewSubtree counts what a subtree action (SubtreeRevoke or
// SubtreeSuspend) on userID and their subtree would change, changing
// nothing. actorID is left out of a suspension, as the action does.
func (s *Staff) PreviewSubtree(ctx context.Context, actorID, userID int64, action string) (SubtreePreview, error) {
	if action != SubtreeRevoke && action != SubtreeSuspend {
		return SubtreePreview{}, fmt.Errorf("models: unknown subtree action %q", action)
	}
	if _, err := getUser(ctx, s.db, userID); err != nil {
		return SubtreePreview{}, err
	}
	p := SubtreePreview{Action: action}
	var inviters int
	// A suspension leaves the actor out; a revoke takes everyone's.
	exclude := int64(0)
	if action == SubtreeSuspend {
		exclude = actorID
	}
	err := s.db.QueryRowContext(ctx, subtreeCTE+`, members(id) AS MATERIALIZED (SELECT id FROM sub WHERE id <> ?2),
		pending(inviter_id) AS MATERIALIZED (SELECT i.inviter_id FROM members CROSS JOIN `+s.engine.IndexedBy("invitations i", "invitations_inviter_idx")+`
			WHERE i.inviter_id = members.id AND i.status = 'pending' AND i.expires_at > ?3)
		SELECT (SELECT count(*) FROM members LEFT JOIN moderation m ON m.user_id = members.id WHERE m.suspended_at IS NULL),
			(SELECT count(*) FROM pending), (SELECT count(DISTINCT inviter_id) FROM pending)`,
		userID, exclude, unix(s.now())).Scan(&p.Members, &p.Invitations, &inviters)
	if err != nil {
		return SubtreePreview{}, fmt.Errorf("models: preview subtree: %w", err)
	}
	if action == SubtreeRevoke {
		p.Members = inviters
	}
	return p, nil
}

// RevokeSubtree revokes every pending invitation sent by userID and by
// everyone in their subtree, giving each back, in one transaction with one
// audit entry carrying the counts and the reason.
func (s *Staff) RevokeSubtree(ctx context.Context, actorID, userID int64, reason string) (ModerationResult, error) {
	var res ModerationResult
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res = ModerationResult{}
		now := s.now()
		if _, err := getUser(ctx, tx, userID); err != nil {
			return err
		}
		auditID, err := moderationAudit(ctx, tx, s.engine, now, actorID, ActionSubtreeRevoke, userID, reason)
		if err != nil {
			return err
		}
		if err := fillSubtree(ctx, tx, 0, userID); err != nil {
			return err
		}
		if res.InvitationsRevoked, res.UsersChanged, err = revokeSetInvitations(ctx, s.engine, tx, ch, now, actorID); err != nil {
			return err
		}
		if err := clearSet(ctx, tx); err != nil {
			return err
		}
		return finishAudit(ctx, tx, auditID, res)
	})
	return res, err
}

// SuspendSubtree suspends userID and everyone in their subtree (except the
// acting staff member), revoking their API tokens and pending invitations,
// in one transaction with one audit entry carrying the counts and the reason.
func (s *Staff) SuspendSubtree(ctx context.Context, actorID, userID int64, reason string) (ModerationResult, error) {
	var res ModerationResult
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res = ModerationResult{}
		now := s.now()
		if err := target(ctx, tx, actorID, userID); err != nil {
			return err
		}
		auditID, err := moderationAudit(ctx, tx, s.engine, now, actorID, ActionSubtreeSuspend, userID, reason)
		if err != nil {
			return err
		}
		if err := fillSubtree(ctx, tx, actorID, userID); err != nil {
			return err
		}
		if res, err = suspendSet(ctx, s.engine, tx, ch, now, actorID, auditID, reason); err != nil {
			return err
		}
		if res.InvitationsRevoked, _, err = revokeSetInvitations(ctx, s.engine, tx, ch, now, actorID); err != nil {
			return err
		}
		if err := clearSet(ctx, tx); err != nil {
			return err
		}
		return finishAudit(ctx, tx, auditID, res)
	})
	return res, err
}

// Invitee is one member a user brought in, as the staff user page lists them.
type Invitee struct {
	ID        int64
	Username  string
	Name      string
	JoinedAt  time.Time
	Suspended bool
}

// Invitees returns a page of the members userID brought in, in the order
// they joined, after the id after (0 for the first page), and the cursor of
// the next page (0 on the last).
func (s *Staff) Invitees(ctx context.Context, userID, after int64, perPage int) ([]Invitee, int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT u.id, u.username, u.name, u.joined_at, m.suspended_at IS NOT NULL
		FROM users u LEFT JOIN moderation m ON m.user_id = u.id
		WHERE u.invited_by = ? AND u.id > ? ORDER BY u.id LIMIT ?`, userID, after, perPage+1)
	if err != nil {
		return nil, 0, fmt.Errorf("models: invitees: %w", err)
	}
	defer rows.Close()
	var out []Invitee
	for rows.Next() {
		var iv Invitee
		var joined int64
		var suspended sql.NullBool
		if err := rows.Scan(&iv.ID, &iv.Username, &iv.Name, &joined, &suspended); err != nil {
			return nil, 0, fmt.Errorf("models: invitees: %w", err)
		}
		iv.JoinedAt, iv.Suspended = time.Unix(joined, 0).UTC(), suspended.Bool
		out = append(out, iv)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("models: invitees: %w", err)
	}
	var next int64
	if len(out) > perPage {
		out = out[:perPage]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// History returns the newest audit entries about userID (at most limit):
// every staff action that targeted them, and the subtree suspension that
// suspended them, if one did.
func (s *Staff) History(ctx context.Context, userID int64, limit int) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, auditSelect+` WHERE a.id IN (
			SELECT id FROM audit_log WHERE target_id = ?1 AND action <> 'revoke'
			UNION SELECT suspended_audit_id FROM moderation WHERE user_id = ?1 AND suspended_audit_id IS NOT NULL)
		ORDER BY a.id DESC LIMIT ?2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("models: history: %w", err)
	}
	return scanAudit(rows)
}

// TrimReason is a reason as stored: trimmed, with Windows line ends made plain.
func TrimReason(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }
