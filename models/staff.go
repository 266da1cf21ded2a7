package models

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Staff is the staff operations: allocation changes for everyone or one
// user, statistics, and the audit log of what staff changed.
type Staff struct{ *core }

// Allocation actions, as written in the audit log.
const (
	ActionTopOff       = "topoff"
	ActionAddTo        = "addto"
	ActionUnlimitedOn  = "unlimited_on"
	ActionUnlimitedOff = "unlimited_off"
	ActionRevoke       = "revoke"
)

// MaxAmount is the largest amount a staff operation takes.
const MaxAmount = 1_000_000

// ParseAmount reads a staff operation's amount: a whole decimal number from
// min to MaxAmount, spaces around it allowed. Anything else (empty,
// fractional, exponent, sign, words) is not an amount.
func ParseAmount(raw string, min int) (int, bool) {
	s := strings.TrimSpace(raw)
	if s == "" || len(s) > 7 {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > MaxAmount {
		return 0, false
	}
	return n, true
}

// AmountMessage is the message next to an amount field that ParseAmount refused.
func AmountMessage(min int) string {
	return fmt.Sprintf("Enter a whole number from %d to 1,000,000.", min)
}

// allocationChange is one staff operation on allocations.
type allocationChange struct {
	action    string
	amount    int
	userID    int64 // 0: every user
	onlyEmpty bool  // add: only users with none remaining
}

// TopOffAll raises every limited user with fewer than n remaining to exactly
// n remaining. It returns how many users changed.
func (s *Staff) TopOffAll(ctx context.Context, actorID int64, n int) (int, error) {
	return s.apply(ctx, actorID, allocationChange{action: ActionTopOff, amount: n})
}

// TopOffUser tops off one user to n remaining; ErrNoRecord if there is no such user.
func (s *Staff) TopOffUser(ctx context.Context, actorID, userID int64, n int) (int, error) {
	return s.apply(ctx, actorID, allocationChange{action: ActionTopOff, amount: n, userID: userID})
}

// AddToAll adds n invitations to every limited user (onlyEmpty: only to
// those with none remaining).
func (s *Staff) AddToAll(ctx context.Context, actorID int64, n int, onlyEmpty bool) (int, error) {
	return s.apply(ctx, actorID, allocationChange{action: ActionAddTo, amount: n, onlyEmpty: onlyEmpty})
}

// AddToUser adds n invitations to one limited user.
func (s *Staff) AddToUser(ctx context.Context, actorID, userID int64, n int) (int, error) {
	return s.apply(ctx, actorID, allocationChange{action: ActionAddTo, amount: n, userID: userID})
}

// SetUnlimitedAll gives every user unlimited invitations (on), or takes them
// away and gives everyone a plain allocation (off).
func (s *Staff) SetUnlimitedAll(ctx context.Context, actorID int64, on bool, allocation int) (int, error) {
	return s.apply(ctx, actorID, unlimitedChange(on, allocation, 0))
}

// SetUnlimitedUser does SetUnlimitedAll for one user.
func (s *Staff) SetUnlimitedUser(ctx context.Context, actorID, userID int64, on bool, allocation int) (int, error) {
	return s.apply(ctx, actorID, unlimitedChange(on, allocation, userID))
}

func unlimitedChange(on bool, allocation int, userID int64) allocationChange {
	if on {
		return allocationChange{action: ActionUnlimitedOn, userID: userID}
	}
	return allocationChange{action: ActionUnlimitedOff, amount: allocation, userID: userID}
}

// The statements of the operations. Each changes only the users it must, so
// that the rows it reports are the users that changed, and running one twice
// changes nothing the second time. Only the unlimited switch touches
// the unlimited flag.
const (
	topOffSQL       = `UPDATE allocations SET allocated = held + ?1 WHERE unlimited = 0 AND max(allocated - held, 0) < ?1`
	addToSQL        = `UPDATE allocations SET allocated = allocated + ?1 WHERE unlimited = 0`
	addToEmptySQL   = addToSQL + ` AND allocated <= held`
	unlimitedOnSQL  = `UPDATE allocations SET unlimited = 1 WHERE unlimited = 0`
	unlimitedOffSQL = `UPDATE allocations SET unlimited = 0, allocated = ?1 WHERE (unlimited = 1 OR allocated <> ?1)`
)

// apply runs one operation as one set-based statement in one transaction,
// with its audit row and its allocation_changed event.
func (s *Staff) apply(ctx context.Context, actorID int64, c allocationChange) (int, error) {
	var q string
	switch c.action {
	case ActionTopOff:
		q = topOffSQL
	case ActionAddTo:
		q = addToSQL
		if c.onlyEmpty {
			q = addToEmptySQL
		}
	case ActionUnlimitedOn:
		q = unlimitedOnSQL
	case ActionUnlimitedOff:
		q = unlimitedOffSQL
	default:
		return 0, fmt.Errorf("models: unknown allocation action %q", c.action)
	}
	args := []any{c.amount}
	if c.userID != 0 {
		q += " AND user_id = ?2"
		args = append(args, c.userID)
	}
	var changed int
	err := s.write(ctx, func(tx *sql.Tx, ch *change) error {
		now := s.now()
		if c.userID != 0 {
			if _, err := getUser(ctx, tx, c.userID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("models: %s: %w", c.action, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("models: %s: %w", c.action, err)
		}
		changed = int(n)
		amount := sql.NullInt64{Int64: int64(c.amount), Valid: c.action != ActionUnlimitedOn}
		if err := audit(ctx, tx, now, actorID, c.action, amount, c.userID, c.onlyEmpty, changed); err != nil {
			return err
		}
		data := map[string]any{"action": c.action, "users_changed": changed, "only_empty": c.onlyEmpty}
		if amount.Valid {
			data["amount"] = c.amount
		}
		if c.userID != 0 {
			data["target_user_id"] = c.userID
		}
		return record(ctx, tx, ch, Event{Kind: EventAllocationChanged, UserID: actorID, At: now, Data: data})
	})
	return changed, err
}

// audit writes one row of the audit log inside tx.
func audit(ctx context.Context, tx *sql.Tx, now time.Time, actorID int64, action string, amount sql.NullInt64, targetID int64, onlyEmpty bool, changed int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (actor_id, action, amount, target_id, only_empty, users_changed, created_at)
		VALUES (nullif(?, 0), ?, ?, nullif(?, 0), ?, ?, ?)`, actorID, action, amount, targetID, onlyEmpty, changed, unix(now))
	if err != nil {
		return fmt.Errorf("models: audit: %w", err)
	}
	return nil
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID            int64
	ActorID       int64  // 0: the command line
	ActorUsername string // "" for the command line or a deleted user
	Action        string
	Amount        int
	HasAmount     bool
	TargetID      int64 // 0: every user
	TargetName    string
	OnlyEmpty     bool
	UsersChanged  int
	At            time.Time
}

// Audit returns a page of the audit log, newest first, and whether an older page exists.
func (s *Staff) Audit(ctx context.Context, page, perPage int) ([]AuditEntry, bool, error) {
	if page < 1 {
		page = 1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT a.id, coalesce(a.actor_id, 0), coalesce(u.username, ''), a.action, a.amount,
		coalesce(a.target_id, 0), coalesce(CASE WHEN a.action = 'revoke' THEN i.email ELSE t.username END, ''),
		a.only_empty, a.users_changed, a.created_at
		FROM audit_log a
		LEFT JOIN users u ON u.id = a.actor_id
		LEFT JOIN users t ON t.id = a.target_id AND a.action <> 'revoke'
		LEFT JOIN invitations i ON i.id = a.target_id AND a.action = 'revoke'
		ORDER BY a.id DESC LIMIT ? OFFSET ?`, perPage+1, (page-1)*perPage)
	if err != nil {
		return nil, false, fmt.Errorf("models: audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var amount sql.NullInt64
		var at int64
		if err := rows.Scan(&e.ID, &e.ActorID, &e.ActorUsername, &e.Action, &amount, &e.TargetID, &e.TargetName,
			&e.OnlyEmpty, &e.UsersChanged, &at); err != nil {
			return nil, false, fmt.Errorf("models: audit log: %w", err)
		}
		e.Amount, e.HasAmount, e.At = int(amount.Int64), amount.Valid, time.Unix(at, 0).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("models: audit log: %w", err)
	}
	more := len(out) > perPage
	if more {
		out = out[:perPage]
	}
	return out, more, nil
}

// DayCount is one day of the activity chart.
type DayCount struct {
	Day         time.Time // midnight UTC
	Invitations int       // sent that day
	Joins       int       // accepted that day
}

// Stats is the dashboard's totals.
type Stats struct {
	Members             int
	Sent                int
	Pending             int
	Accepted            int
	JoinedIndependently int
	Expired             int
	Revoked             int
	Days                []DayCount // the last 30 days, oldest first
}

// AcceptanceRate is the share of sent invitations that were accepted, 0 to 1.
func (st Stats) AcceptanceRate() float64 {
	if st.Sent == 0 {
		return 0
	}
	return float64(st.Accepted) / float64(st.Sent)
}

// manyMatches is the count of matching users above which a search walks the
// users in id order instead of gathering the matches through the indexes.
const manyMatches = 2000

// ChartDays is how many days the activity chart covers.
const ChartDays = 30

// Stats counts members and invitations by status (an overdue pending
// invitation counts as expired), and invitations and joins per day for the
// last ChartDays days.
func (s *Staff) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	now := s.now()
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&st.Members); err != nil {
		return Stats{}, fmt.Errorf("models: stats: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT CASE WHEN status = 'pending' AND expires_at <= ? THEN 'expired' ELSE status END AS s, count(*)
		FROM invitations GROUP BY s`, unix(now))
	if err != nil {
		return Stats{}, fmt.Errorf("models: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return Stats{}, fmt.Errorf("models: stats: %w", err)
		}
		st.Sent += n
		switch status {
		case StatusPending:
			st.Pending = n
		case StatusAccepted:
			st.Accepted = n
		case StatusJoinedIndependently:
			st.JoinedIndependently = n
		case StatusExpired:
			st.Expired = n
		case StatusRevoked:
			st.Revoked = n
		}
	}
	if err := rows.Err(); err != nil {
		return Stats{}, fmt.Errorf("models: stats: %w", err)
	}
	if st.Days, err = s.days(ctx, now); err != nil {
		return Stats{}, err
	}
	return st, nil
}

// days counts invitations sent and accepted per UTC day over the chart's window.
func (s *Staff) days(ctx context.Context, now time.Time) ([]DayCount, error) {
	first := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(ChartDays - 1))
	days := make([]DayCount, ChartDays)
	for i := range days {
		days[i].Day = first.AddDate(0, 0, i)
	}
	count := func(q string, set func(*DayCount, int)) error {
		rows, err := s.db.QueryContext(ctx, q, unix(first))
		if err != nil {
			return fmt.Errorf("models: daily counts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var day int64
			var n int
			if err := rows.Scan(&day, &n); err != nil {
				return fmt.Errorf("models: daily counts: %w", err)
			}
			if i := int((day - unix(first)) / 86400); i >= 0 && i < ChartDays {
				set(&days[i], n)
			}
		}
		return rows.Err()
	}
	if err := count(`SELECT created_at - created_at % 86400 AS d, count(*) FROM invitations WHERE created_at >= ? GROUP BY d`,
		func(d *DayCount, n int) { d.Invitations = n }); err != nil {
		return nil, err
	}
	if err := count(`SELECT accepted_at - accepted_at % 86400 AS d, count(*) FROM invitations WHERE accepted_at >= ? GROUP BY d`,
		func(d *DayCount, n int) { d.Joins = n }); err != nil {
		return nil, err
	}
	return days, nil
}

// UserFilter selects a page of users for the staff list.
type UserFilter struct {
	Query   string // the start of a username or email address; "" for all
	AfterID int64  // keyset cursor: users with a larger id
	PerPage int
}

// ListUsers returns a page of users in id order and whether more follow.
// A query matches the start of the username or of the email address. Which
// plan is fast depends on how many users match, so it counts them first,
// capped, through the unique indexes: a few matches are gathered through the
// indexes and sorted; many are found by walking the users in id order, which
// meets a page of them soon.
func (s *Staff) ListUsers(ctx context.Context, f UserFilter) ([]User, bool, error) {
	if f.PerPage <= 0 {
		f.PerPage = 50
	}
	q := `SELECT ` + userColumns + userFrom + ` WHERE users.id > ?1`
	args := []any{f.AfterID, f.PerPage + 1}
	if key := EmailKey(f.Query); key != "" {
		// The range [key, key+U+10FFFF) holds every string that starts with key.
		args = append(args, key, key+"\U0010FFFF")
		const matching = `SELECT id FROM users WHERE username >= ?1 AND username < ?2
			UNION SELECT id FROM users WHERE email_key >= ?1 AND email_key < ?2`
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM (SELECT 1 FROM users WHERE username >= ?1 AND username < ?2 LIMIT ?3)) +
			(SELECT count(*) FROM (SELECT 1 FROM users WHERE email_key >= ?1 AND email_key < ?2 LIMIT ?3))`,
			args[2], args[3], manyMatches).Scan(&n); err != nil {
			return nil, false, fmt.Errorf("models: count matching users: %w", err)
		}
		if n < manyMatches {
			q += ` AND users.id IN (` + strings.NewReplacer("?1", "?3", "?2", "?4").Replace(matching) + `)`
		} else {
			q += ` AND (+username >= ?3 AND +username < ?4 OR +email_key >= ?3 AND +email_key < ?4)`
		}
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY users.id LIMIT ?2`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("models: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("models: list users: %w", err)
	}
	more := len(out) > f.PerPage
	if more {
		out = out[:f.PerPage]
	}
	return out, more, nil
}
