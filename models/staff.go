package models

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Staff is the staff operations: allocation changes for everyone or one
// user, statistics, and the audit log of what staff changed.
type Staff struct {
	*core
	key string // idempotency key of the next change, from Keyed
}

// Keyed returns the staff operations with an idempotency key: the first
// allocation change made through them commits with key, and the same key
// again (from actor, within a day) changes nothing and returns the first
// run's count, or ErrIdempotencyKeyReused if the change asked for differs.
// An empty key is no key; one that is not 1 to 255 visible ASCII characters
// makes every change fail with ErrBadIdempotencyKey. Keys are a staff
// member's: a keyed change needs an actor.
func (s *Staff) Keyed(key string) *Staff {
	return &Staff{core: s.core, key: key}
}

// ValidIdempotencyKey reports whether key can be an idempotency key.
func ValidIdempotencyKey(key string) bool {
	if key == "" || len(key) > 255 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < '!' || key[i] > '~' {
			return false
		}
	}
	return true
}

// keyLifetime is how long an idempotency key is remembered.
const keyLifetime = 24 * time.Hour

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
	if s == "" {
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
	addToSQL        = `UPDATE allocations SET allocated = allocated + ?1 WHERE unlimited = FALSE`
	addToEmptySQL   = addToSQL + ` AND allocated <= held`
	unlimitedOnSQL  = `UPDATE allocations SET unlimited = TRUE WHERE unlimited = FALSE`
	unlimitedOffSQL = `UPDATE allocations SET unlimited = FALSE, allocated = ?1 WHERE (unlimited = TRUE OR allocated <> ?1)`
)

// topOffSQL raises every allocation with fewer than ?1 left to exactly ?1 left.
// "Fewer than ?1 left" is max(allocated - held, 0) < ?1, written without
// the function call, which SQLite made for each of a million rows (a tenth
// of the statement): for ?1 > 0 it is allocated - held < ?1, and for ?1 <= 0
// nothing has fewer left.
const topOffSQL = `UPDATE allocations SET allocated = held + ?1 WHERE unlimited = FALSE AND ?1 > 0 AND allocated - held < ?1`

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
	if c.action == ActionUnlimitedOn {
		args = nil // its statement takes no amount (PostgreSQL refuses an unused parameter)
	}
	if c.userID != 0 {
		args = append(args, c.userID)
		q += fmt.Sprintf(" AND user_id = ?%d", len(args))
	}
	if s.key != "" && !ValidIdempotencyKey(s.key) {
		return 0, ErrBadIdempotencyKey
	}
	if s.key != "" && actorID == 0 {
		return 0, errors.New("models: an idempotency key is a staff member's, not the command line's")
	}
	var changed int
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := s.now()
		if s.key != "" {
			done, n, err := s.keyUsed(ctx, tx, now, actorID, c)
			if err != nil || done {
				changed = n
				return err
			}
		}
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
		if err := record(ctx, tx, ch, Event{Kind: EventAllocationChanged, UserID: actorID, At: now, Data: data}); err != nil {
			return err
		}
		if s.key != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (actor_id, key, request, changed, created_at) VALUES (?, ?, ?, ?, ?)`,
				actorID, s.key, c.fingerprint(), changed, unix(now)); err != nil {
				return fmt.Errorf("models: keep idempotency key: %w", err)
			}
		}
		return nil
	})
	return changed, err
}

// fingerprint is what a change asks for, kept with its idempotency key.
func (c allocationChange) fingerprint() string {
	return fmt.Sprintf("%s amount=%d user=%d only_empty=%t", c.action, c.amount, c.userID, c.onlyEmpty)
}

// keyUsed reports whether actor's change under s.key was made already, and
// then with how many users changed; a key used for another change is
// ErrIdempotencyKeyReused. It forgets the actor's keys older than a day.
func (s *Staff) keyUsed(ctx context.Context, tx *sql.Tx, now time.Time, actorID int64, c allocationChange) (bool, int, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE actor_id = ? AND created_at <= ?`,
		actorID, unix(now.Add(-keyLifetime))); err != nil {
		return false, 0, fmt.Errorf("models: prune idempotency keys: %w", err)
	}
	var request string
	var changed int
	err := tx.QueryRowContext(ctx, `SELECT request, changed FROM idempotency_keys WHERE actor_id = ? AND key = ?`,
		actorID, s.key).Scan(&request, &changed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, 0, nil
	case err != nil:
		return false, 0, fmt.Errorf("models: read idempotency key: %w", err)
	case request != c.fingerprint():
		return true, 0, ErrIdempotencyKeyReused
	}
	return true, changed, nil
}

// audit writes one row of the audit log inside tx.
func audit(ctx context.Context, tx *sql.Tx, now time.Time, actorID int64, action string, amount sql.NullInt64, targetID int64, onlyEmpty bool, changed int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (actor_id, action, amount, target_id, only_empty, users_changed, created_at)
		VALUES (nullif(CAST(? AS BIGINT), 0), ?, ?, nullif(CAST(? AS BIGINT), 0), ?, ?, ?)`, actorID, action, amount, targetID, onlyEmpty, changed, unix(now))
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
	// Reason is why staff did it (moderation actions); InvitationsChanged
	// how many pending invitations a moderation action revoked.
	Reason             string
	InvitationsChanged int
	At                 time.Time
}

// auditSelect reads AuditEntry rows (scanAudit); a is the audit log.
const auditSelect = `SELECT a.id, coalesce(a.actor_id, 0), coalesce(u.username, ''), a.action, a.amount,
	coalesce(a.target_id, 0), coalesce(CASE WHEN a.action = 'revoke' THEN i.email ELSE t.username END, ''),
	a.only_empty, a.users_changed, a.reason, a.invitations_changed, a.created_at
	FROM audit_log a
	LEFT JOIN users u ON u.id = a.actor_id
	LEFT JOIN users t ON t.id = a.target_id AND a.action <> 'revoke'
	LEFT JOIN invitations i ON i.id = a.target_id AND a.action = 'revoke'`

// scanAudit reads every row of an auditSelect and closes rows.
func scanAudit(rows *sql.Rows) ([]AuditEntry, error) {
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var amount sql.NullInt64
		var at int64
		if err := rows.Scan(&e.ID, &e.ActorID, &e.ActorUsername, &e.Action, &amount, &e.TargetID, &e.TargetName,
			&e.OnlyEmpty, &e.UsersChanged, &e.Reason, &e.InvitationsChanged, &at); err != nil {
			return nil, fmt.Errorf("models: audit log: %w", err)
		}
		e.Amount, e.HasAmount, e.At = int(amount.Int64), amount.Valid, time.Unix(at, 0).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: audit log: %w", err)
	}
	return out, nil
}

// Audit returns a page of the audit log, newest first, and whether an older page exists.
func (s *Staff) Audit(ctx context.Context, page, perPage int) ([]AuditEntry, bool, error) {
	if page < 1 {
		page = 1
	}
	rows, err := s.db.QueryContext(ctx, auditSelect+` ORDER BY a.id DESC LIMIT ? OFFSET ?`, perPage+1, (page-1)*perPage)
	if err != nil {
		return nil, false, fmt.Errorf("models: audit log: %w", err)
	}
	out, err := scanAudit(rows)
	if err != nil {
		return nil, false, err
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
	Declined            int
	Days                []DayCount // the last 30 days, oldest first
}

// AcceptanceRate is the share of sent invitations that were accepted, 0 to 1.
func (st Stats) AcceptanceRate() float64 {
	if st.Sent == 0 {
		return 0
	}
	return float64(st.Accepted) / float64(st.Sent)
}

// ChartDays is how many days the activity chart covers.
const ChartDays = 30

// Stats counts members and invitations by status (an overdue pending
// invitation counts as expired), and invitations and joins per day for the
// last ChartDays days. The invitation counts come from the daily totals
// that triggers keep (migration 0007), so the cost does not grow with the
// number of invitations.
func (s *Staff) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	now := s.now()
	// Separate statements: SQLite counts a whole table fast (from its
	// smallest index) only when the count is the statement itself.
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&st.Members); err != nil {
		return Stats{}, fmt.Errorf("models: stats: %w", err)
	}
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(sent), 0), coalesce(sum(accepted), 0),
		coalesce(sum(joined_independently), 0), coalesce(sum(expired), 0), coalesce(sum(revoked), 0),
		coalesce(sum(declined), 0)
		FROM invitation_days`).Scan(&st.Sent, &st.Accepted, &st.JoinedIndependently, &st.Expired, &st.Revoked, &st.Declined)
	if err != nil {
		return Stats{}, fmt.Errorf("models: stats: %w", err)
	}
	// Overdue invitations are few (the sweep ends them every minute) and
	// found through the partial index of pending expiries; without
	// statistics the planner would pick the status index and read every
	// pending invitation (80 ms with 200,000 of them).
	var overdue int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+allOverdue(s.engine)+`
		WHERE status = 'pending' AND expires_at <= ?`, unix(now)).Scan(&overdue); err != nil {
		return Stats{}, fmt.Errorf("models: stats: %w", err)
	}
	st.Pending = st.Sent - st.Accepted - st.JoinedIndependently - st.Expired - st.Revoked - st.Declined - overdue
	st.Expired += overdue
	if st.Days, err = s.days(ctx, now); err != nil {
		return Stats{}, err
	}
	return st, nil
}

// days reads invitations sent and joins through a link per UTC day over the
// chart's window.
func (s *Staff) days(ctx context.Context, now time.Time) ([]DayCount, error) {
	first := unix(now)/86400 - (ChartDays - 1)
	days := make([]DayCount, ChartDays)
	for i := range days {
		days[i].Day = time.Unix((first+int64(i))*86400, 0).UTC()
	}
	rows, err := s.db.QueryContext(ctx, `SELECT day, sent, accepted FROM invitation_days WHERE day >= ? AND day < ?`,
		first, first+ChartDays)
	if err != nil {
		return nil, fmt.Errorf("models: daily counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day int64
		var sent, joins int
		if err := rows.Scan(&day, &sent, &joins); err != nil {
			return nil, fmt.Errorf("models: daily counts: %w", err)
		}
		days[day-first].Invitations, days[day-first].Joins = sent, joins
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: daily counts: %w", err)
	}
	return days, nil
}

// UserFilter selects a page of users for the staff list.
type UserFilter struct {
	Query   string // the start of a username or email address; "" for all
	After   string // the Next cursor of the page before; "" for the first page
	PerPage int
}

// ListUsers returns a page of users and the cursor of the next page ("" on
// the last). Without a query the users come in id order. A query matches the
// start of the username or of the email address, case-insensitively, and the
// matches come in the order of the key that matched (a user matching by both
// comes once, at the smaller), read in step through the two unique indexes:
// a page costs about a page of index entries however many users match and
// wherever they are, so it is fast with a million users.
func (s *Staff) ListUsers(ctx context.Context, f UserFilter) ([]User, string, error) {
	if f.PerPage <= 0 {
		f.PerPage = 50
	}
	if q := EmailKey(f.Query); q != "" {
		return s.searchUsers(ctx, q, f)
	}
	after, _ := strconv.ParseInt(f.After, 10, 64)
	out, err := queryAll(ctx, s.db, f.PerPage+1, scanUser, `SELECT `+userColumns+userFrom+` WHERE users.id > ? ORDER BY users.id LIMIT ?`,
		max(after, 0), f.PerPage+1)
	if err != nil {
		return nil, "", fmt.Errorf("models: list users: %w", err)
	}
	if len(out) <= f.PerPage {
		return out, "", nil
	}
	out = out[:f.PerPage]
	return out, strconv.FormatInt(out[len(out)-1].ID, 10), nil
}

// searchBudget is how many index entries one search request reads at most.
// Only a page deep in a long list of matches can need more (when most
// entries there belong to users already listed under their other key); it
// then ends early, with a cursor to go on from.
const searchBudget = 20_000

// match is one user found by one of their keys.
type match struct {
	key string // the username or email key that matched
	id  int64
}

// The two sides of a search: each reads a range of one unique index in key
// order, with the other key, to tell whether the user is listed under it.
const (
	searchByNameSQL  = `SELECT username, id, email_key FROM users WHERE username >= ?1 AND username < ?2 ORDER BY username LIMIT ?3`
	searchByEmailSQL = `SELECT email_key, id, username FROM users WHERE email_key >= ?1 AND email_key < ?2 ORDER BY email_key LIMIT ?3`
)

// searchUsers pages through the users whose username or email key starts
// with q, merging the two index ranges batch by batch.
func (s *Staff) searchUsers(ctx context.Context, q string, f UserFilter) ([]User, string, error) {
	// Every string that starts with q lies in [q, hi). A page goes on
	// after the key it was given (After), which an earlier page listed.
	hi := q + "\U0010FFFF"
	lo, listed := q, ""
	if f.After >= q {
		lo, listed = f.After, f.After
	}
	batch := f.PerPage + 1
	var found []match
	next := ""
	for read := 0; ; read += 2 * batch {
		byName, err := s.searchSide(ctx, searchByNameSQL, q, lo, hi, batch)
		if err != nil {
			return nil, "", err
		}
		byEmail, err := s.searchSide(ctx, searchByEmailSQL, q, lo, hi, batch)
		if err != nil {
			return nil, "", err
		}
		// Up to bound both sides are complete; past it a full side may
		// have more entries that sort before the other side's.
		bound, more := hi, false
		for _, side := range [][]sideEntry{byName, byEmail} {
			if len(side) == batch {
				bound, more = min(bound, side[batch-1].key), true
			}
		}
		found = mergeSides(found, byName, byEmail, listed, bound)
		if len(found) > f.PerPage {
			found = found[:f.PerPage]
			next = found[len(found)-1].key
			break
		}
		if !more {
			break
		}
		lo, listed = bound, bound
		if read+2*batch >= searchBudget {
			next = bound
			break
		}
	}
	users, err := s.usersByID(ctx, found)
	return users, next, err
}

// sideEntry is one index entry read by a side of a search.
type sideEntry struct {
	match
	listed bool // whether this is the key the user is listed under
}

func (s *Staff) searchSide(ctx context.Context, query, q, lo, hi string, limit int) ([]sideEntry, error) {
	rows, err := s.db.QueryContext(ctx, query, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("models: search users: %w", err)
	}
	defer rows.Close()
	var out []sideEntry
	for rows.Next() {
		var e sideEntry
		var other string
		if err := rows.Scan(&e.key, &e.id, &other); err != nil {
			return nil, fmt.Errorf("models: search users: %w", err)
		}
		// A user whose other key matches too is listed under the smaller.
		e.listed = !strings.HasPrefix(other, q) || e.key < other
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: search users: %w", err)
	}
	return out, nil
}

// mergeSides appends to found, in key order, the listed entries of a and b
// (each in key order) after done and up to bound.
func mergeSides(found []match, a, b []sideEntry, done, bound string) []match {
	for len(a) > 0 || len(b) > 0 {
		var e sideEntry
		if len(b) == 0 || len(a) > 0 && a[0].key < b[0].key {
			e, a = a[0], a[1:]
		} else {
			e, b = b[0], b[1:]
		}
		if e.key > bound {
			break
		}
		if e.listed && e.key != done {
			found = append(found, e.match)
		}
	}
	return found
}

// usersByID reads the users of ms, in the order of ms.
func (s *Staff) usersByID(ctx context.Context, ms []match) ([]User, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	args := make([]any, len(ms))
	for i, m := range ms {
		args[i] = m.id
	}
	marks := strings.Repeat(",?", len(ms))[1:]
	found, err := queryAll(ctx, s.db, len(ms), scanUser, `SELECT `+userColumns+userFrom+` WHERE users.id IN (`+marks+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("models: search users: %w", err)
	}
	byID := make(map[int64]User, len(found))
	for _, u := range found {
		byID[u.ID] = u
	}
	out := make([]User, 0, len(ms))
	for _, m := range ms {
		if u, ok := byID[m.id]; ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// InvitationFilter selects a page of every member's invitations.
type InvitationFilter struct {
	Status    string // "": every status; an overdue pending invitation is expired
	InviterID int64  // 0: every inviter
	Label     string // "": any label; otherwise exactly this label
	Before    int64  // the Next cursor of the page before (ids below it); 0 for the first page
	PerPage   int
}

// Invitations returns a page of every member's invitations, newest first,
// and the cursor of the next page (0 on the last). A page reads about a page
// of index entries whatever the filter, so it is fast with millions of
// invitations. (Invitations.List, which counts its matches and lets an
// overdue pending invitation read as expired through one OR, sorts every
// expired invitation for that filter: 0.4 s with a million invitations.)
func (s *Staff) Invitations(ctx context.Context, f InvitationFilter) ([]Invitation, int64, error) {
	if f.PerPage <= 0 {
		f.PerPage = 50
	}
	now := unix(s.now())
	args := []any{now}
	param := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("?%d", len(args))
	}
	cond := " AND id < " + param(int64(math.MaxInt64))
	if f.Before > 0 {
		args[len(args)-1] = f.Before
	}
	if f.InviterID != 0 {
		cond += " AND inviter_id = " + param(f.InviterID)
	}
	if f.Label != "" {
		cond += " AND label = " + param(f.Label)
	}
	order := " ORDER BY id DESC LIMIT " + param(f.PerPage+1)
	var queries []string
	switch f.Status {
	case "":
		queries = []string{`SELECT id FROM invitations WHERE ?1 > 0` + cond + order}
	case StatusPending:
		queries = []string{`SELECT id FROM invitations WHERE status = 'pending' AND expires_at > ?1` + cond + order}
	case StatusExpired:
		// Two ranges in id order: the expired ones, and the few overdue
		// pending ones through the partial index of pending expiries.
		queries = []string{
			`SELECT id FROM invitations WHERE status = 'expired' AND ?1 > 0` + cond + order,
			`SELECT id FROM ` + allOverdue(s.engine) + `
				WHERE status = 'pending' AND expires_at <= ?1` + cond + order,
		}
	default:
		queries = []string{`SELECT id FROM invitations WHERE ?1 > 0 AND status = ` + param(f.Status) + cond + order}
	}
	var ids []int64
	for _, q := range queries {
		some, err := queryAll(ctx, s.db, 0, scanID, q, args...)
		if err != nil {
			return nil, 0, fmt.Errorf("models: staff invitations: %w", err)
		}
		ids = append(ids, some...)
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Compare(b, a) })
	var next int64
	if len(ids) > f.PerPage {
		ids = ids[:f.PerPage]
		next = ids[len(ids)-1]
	}
	if len(ids) == 0 {
		return nil, 0, nil
	}
	args = []any{now}
	for _, id := range ids {
		args = append(args, id)
	}
	marks := strings.Repeat(",?", len(ids))[1:]
	out, err := queryInvitations(ctx, s.db, len(ids), invitationSelect+` WHERE i.id IN (`+marks+`) ORDER BY i.id DESC`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("models: staff invitations: %w", err)
	}
	return out, next, nil
}
