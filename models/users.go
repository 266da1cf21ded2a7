package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Users is the users table group: accounts, sign-in, email confirmation and
// password reset.
type Users struct{ *core }

// User is one account.
type User struct {
	ID            int64
	Email         string
	Username      string
	Name          string
	Staff         bool
	Superuser     bool
	ManageInvites bool
	VerifiedAt    time.Time // zero while the address is not proven
	JoinedAt      time.Time
	InvitedBy     int64 // 0 when the user joined without an invitation
	Allocation    Allocation
	// Sent is how many invitations the user has sent in all (emailed, or
	// made by a join through their links), as of when the user was read:
	// a trigger keeps it in invitation_counts.sent.
	Sent int
	// SessionEpoch moves on whenever the account's credentials change; a
	// session signed in under an older epoch is no longer signed in.
	SessionEpoch int64
	passwordHash string
}

// Verified reports whether the user's address is proven.
func (u User) Verified() bool { return !u.VerifiedAt.IsZero() }

// IsStaff reports whether u may use the staff dashboard: the staff or
// superuser flag, or the manage_invites permission.
func (u User) IsStaff() bool { return u.Staff || u.Superuser || u.ManageInvites }

// DisplayName is the name, or the username when there is none.
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Username
}

// Allocation is a user's invitation allowance and what they did with it.
type Allocation struct {
	Allocated int
	Held      int // pending and accepted invitations
	Accepted  int
	Unlimited bool
}

// Remaining is how many invitations the user may still send, never below 0;
// meaningless when Unlimited.
func (a Allocation) Remaining() int { return max(a.Allocated-a.Held, 0) }

// CanInvite reports whether one more invitation may be taken.
func (a Allocation) CanInvite() bool { return a.Unlimited || a.Remaining() > 0 }

// NewUser is what creating an account needs. Email and Username are taken as
// typed and normalised here; Password is the plain password.
type NewUser struct {
	Email     string
	Username  string
	Name      string
	Password  string
	Staff     bool
	Superuser bool
	Verified  bool // the address is already proven (setup, createuser, a kept invited address)
	// passwordHash is Password hashed by prepareUser, before the write.
	passwordHash string
}

// prepareUser readies nu for insertUser, outside the writer (the writer
// contract, rule 3): a cheap read refuses an email or username already
// taken, so that a replayed taken name costs no hash, and then the password
// is hashed. The unique constraints inside the transaction still decide.
func (c *core) prepareUser(ctx context.Context, nu *NewUser) error {
	var email, username bool
	if err := c.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email_key = ?),
		EXISTS (SELECT 1 FROM users WHERE username = ?)`,
		EmailKey(strings.TrimSpace(nu.Email)), NormalizeUsername(nu.Username)).Scan(&email, &username); err != nil {
		return fmt.Errorf("models: taken check: %w", err)
	}
	switch {
	case email:
		return ErrDuplicateEmail
	case username:
		return ErrDuplicateUsername
	}
	var err error
	nu.passwordHash, err = c.hashPassword(ctx, nu.Password)
	return err
}

// userColumns reads a User from users joined with allocations (aliased a)
// and invitation_counts (aliased c).
const userColumns = `users.id, email, username, name, password_hash, is_staff, is_superuser, manage_invites,
	email_verified_at, joined_at, coalesce(invited_by, 0),
	a.allocated, a.unlimited, a.held, coalesce(c.accepted, 0), coalesce(c.sent, 0), session_epoch`

// userFrom is the FROM clause that goes with userColumns. A member has a
// row of invitation_counts from their first invitation on.
const userFrom = ` FROM users JOIN allocations a ON a.user_id = users.id LEFT JOIN invitation_counts c ON c.user_id = users.id`

// allocationColumns reads an Allocation from a row of allocations: the
// allowance is there, the accepted count in invitation_counts (migration
// 0021 keeps allocations narrow for the staff's bulk changes). It serves
// SELECTs from allocations and the RETURNING of UPDATEs of it.
const allocationColumns = `allocated, unlimited, held,
	coalesce((SELECT accepted FROM invitation_counts WHERE invitation_counts.user_id = allocations.user_id), 0)`

// countAcceptedSQL counts one more accepted invitation of the user ?: their
// invitation_counts row exists, made by the trigger on their first
// invitation.
const countAcceptedSQL = `UPDATE invitation_counts SET accepted = accepted + 1 WHERE user_id = ?`

// scanUser reads a userColumns row into u.
func scanUser(row scanner, u *User) error {
	var verified sql.NullInt64
	var joined int64
	err := row.Scan(&u.ID, &u.Email, &u.Username, &u.Name, &u.passwordHash, &u.Staff, &u.Superuser, &u.ManageInvites,
		&verified, &joined, &u.InvitedBy,
		&u.Allocation.Allocated, &u.Allocation.Unlimited, &u.Allocation.Held, &u.Allocation.Accepted, &u.Sent, &u.SessionEpoch)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoRecord
	}
	if err != nil {
		return fmt.Errorf("models: scan user: %w", err)
	}
	u.VerifiedAt = fromUnix(verified)
	u.JoinedAt = time.Unix(joined, 0).UTC()
	return nil
}

const userByIDSQL = `SELECT ` + userColumns + userFrom + ` WHERE users.id = ?`

// Get returns the user with id, or ErrNoRecord.
func (m *Users) Get(ctx context.Context, id int64) (User, error) {
	return getUser(ctx, m.db, id)
}

func getUser(ctx context.Context, q queryer, id int64) (User, error) {
	return one(q.QueryRowContext(ctx, userByIDSQL, id), scanUser)
}

// userWithStandingSQL reads a user and their moderation standing at once:
// the signed-in user of every request needs both, and one statement costs
// half of two (each is a trip through cgo into SQLite). The id goes in as a
// CAST for the reason Invitations.List gives (a bare integer parameter in a
// key made each run cost a prepare).
const userWithStandingSQL = `SELECT ` + userColumns + `,
	m.suspended_at, coalesce(m.suspended_reason, ''), coalesce(m.ever_suspended, FALSE),
	m.inviting_off_at, coalesce(m.inviting_off_reason, '')` + userFrom + `
	LEFT JOIN moderation m ON m.user_id = users.id WHERE users.id = CAST(? AS BIGINT)`

// GetWithStanding returns the user with id and their moderation standing
// (the zero Standing when they have no moderation row), or ErrNoRecord.
func (m *Users) GetWithStanding(ctx context.Context, id int64) (User, Standing, error) {
	var u User
	var st Standing
	var verified, suspended, off sql.NullInt64
	var joined int64
	err := m.db.QueryRowContext(ctx, userWithStandingSQL, id).Scan(&u.ID, &u.Email, &u.Username, &u.Name, &u.passwordHash,
		&u.Staff, &u.Superuser, &u.ManageInvites, &verified, &joined, &u.InvitedBy,
		&u.Allocation.Allocated, &u.Allocation.Unlimited, &u.Allocation.Held, &u.Allocation.Accepted, &u.Sent, &u.SessionEpoch,
		&suspended, &st.SuspendedReason, &st.EverSuspended, &off, &st.InvitingOffReason)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, Standing{}, ErrNoRecord
	}
	if err != nil {
		return User{}, Standing{}, fmt.Errorf("models: user with standing: %w", err)
	}
	u.VerifiedAt = fromUnix(verified)
	u.JoinedAt = time.Unix(joined, 0).UTC()
	st.Suspended, st.SuspendedAt = suspended.Valid, fromUnix(suspended)
	st.InvitingOff, st.InvitingOffAt = off.Valid, fromUnix(off)
	return u, st, nil
}

const userByLoginSQL = `SELECT ` + userColumns + userFrom + ` WHERE email_key = ? OR username = ?`

// GetByLogin returns the user whose email or username is login, or ErrNoRecord.
func (m *Users) GetByLogin(ctx context.Context, login string) (User, error) {
	key := EmailKey(login)
	return one(m.db.QueryRowContext(ctx, userByLoginSQL, key, key), scanUser)
}

const userByUsernameSQL = `SELECT ` + userColumns + userFrom + ` WHERE username = ?`

// GetByUsername returns the user with that username, or ErrNoRecord.
func (m *Users) GetByUsername(ctx context.Context, username string) (User, error) {
	return one(m.db.QueryRowContext(ctx, userByUsernameSQL, NormalizeUsername(username)), scanUser)
}

// Any reports whether at least one user exists.
func (m *Users) Any(ctx context.Context) (bool, error) {
	var any bool
	if err := m.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&any); err != nil {
		return false, fmt.Errorf("models: any user: %w", err)
	}
	return any, nil
}

// Create makes an account. Unless nu.Verified, a confirmation email is queued
// in the same transaction.
func (m *Users) Create(ctx context.Context, nu NewUser) (User, error) {
	if err := m.prepareUser(ctx, &nu); err != nil {
		return User{}, err
	}
	var u User
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		var err error
		u, err = insertUser(ctx, tx, m.core, ch, nu, 0, 0)
		return err
	})
	return u, err
}

// CreateFirst makes the first account, a verified superuser, and fails with
// ErrSetupDone when any user exists, checked inside the transaction so two
// racing setups cannot both win.
func (m *Users) CreateFirst(ctx context.Context, nu NewUser) (User, error) {
	nu.Superuser, nu.Staff, nu.Verified = true, true, true
	// Refused before hashing when it is plainly too late.
	if any, err := m.Any(ctx); err != nil {
		return User{}, err
	} else if any {
		return User{}, ErrSetupDone
	}
	if err := m.prepareUser(ctx, &nu); err != nil {
		return User{}, err
	}
	var u User
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		var any bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&any); err != nil {
			return fmt.Errorf("models: any user: %w", err)
		}
		if any {
			return ErrSetupDone
		}
		var err error
		u, err = insertUser(ctx, tx, m.core, ch, nu, 0, 0)
		return err
	})
	return u, err
}

const (
	insertUserSQL = `INSERT INTO users (email, email_key, username, name, password_hash, is_staff, is_superuser,
	email_verified_at, joined_at, invited_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(CAST(? AS BIGINT), 0))`
	insertAllocationSQL = `INSERT INTO allocations (user_id, allocated, unlimited) VALUES (?, ?, ?)`
)

// insert adds a user inside tx; invitedBy is 0 for none. It queues the
// confirmation email when the address is not verified, and when it is, ends
// every pending invitation to it (but exceptInvitation, the one being
// accepted) as joined independently.
func insertUser(ctx context.Context, tx *sql.Tx, c *core, ch *change, nu NewUser, invitedBy, exceptInvitation int64) (User, error) {
	email := strings.TrimSpace(nu.Email)
	if nu.passwordHash == "" {
		return User{}, errors.New("models: insert user: password not hashed (prepareUser)")
	}
	now := c.now()
	verified := sql.NullInt64{}
	if nu.Verified {
		verified = sql.NullInt64{Int64: unix(now), Valid: true}
	}
	allocated, unlimited := c.opts.DefaultAllocation, false
	if allocated < 0 {
		allocated, unlimited = 0, true
	}
	id, err := insertID(ctx, tx, c.engine, insertUserSQL, email, EmailKey(email), NormalizeUsername(nu.Username),
		strings.TrimSpace(nu.Name), nu.passwordHash, nu.Staff, nu.Superuser, verified, unix(now), invitedBy)
	switch {
	case IsUniqueViolation(err, "users.email_key", "users_email_key_key"):
		return User{}, ErrDuplicateEmail
	case IsUniqueViolation(err):
		return User{}, ErrDuplicateUsername
	case err != nil:
		return User{}, fmt.Errorf("models: insert user: %w", err)
	}
	if _, err := tx.ExecContext(ctx, insertAllocationSQL, id, allocated, unlimited); err != nil {
		return User{}, fmt.Errorf("models: insert allocation: %w", err)
	}
	u, err := getUser(ctx, tx, id)
	if err != nil {
		return User{}, err
	}
	if u.Verified() {
		if err := endPendingForNewMember(ctx, tx, ch, u, exceptInvitation, now); err != nil {
			return User{}, err
		}
	} else if err := queueUserToken(ctx, tx, c, ch, u, purposeConfirm); err != nil {
		return User{}, err
	}
	return u, nil
}

// Authenticate returns the user whose email or username is login and whose
// password matches, or ErrInvalidCredentials for any failure.
func (m *Users) Authenticate(ctx context.Context, login, password string) (User, error) {
	u, err := m.GetByLogin(ctx, login)
	if errors.Is(err, ErrNoRecord) {
		// Spend the same time as a real check so response times do not tell
		// which accounts exist.
		if _, err := m.checkPassword(ctx, m.dummyHash(), password); err != nil {
			return User{}, err
		}
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, err
	}
	if ok, err := m.checkPassword(ctx, u.passwordHash, password); err != nil {
		return User{}, err
	} else if !ok {
		return User{}, ErrInvalidCredentials
	}
	return u, nil
}

func (m *Users) dummyHash() string {
	p := m.opts.Argon
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$c2FsdHNhbHRzYWx0c2FsdA$Y2hlY2tjaGVja2NoZWNrY2hlY2tjaGVja2NoZWNrY2g", p.Memory, p.Time, p.Threads)
}

// CheckPassword reports whether password is the user's current password.
func (m *Users) CheckPassword(ctx context.Context, id int64, password string) (bool, error) {
	u, err := m.Get(ctx, id)
	if err != nil {
		return false, err
	}
	return m.checkPassword(ctx, u.passwordHash, password)
}

// SetPassword replaces the user's password and returns the user as now
// stored. It is a change of credentials: every session of the account ends
// (the caller signs its own session in again under the new epoch), and every
// outstanding reset link dies, since it was asked for under the old password.
func (m *Users) SetPassword(ctx context.Context, id int64, password string) (User, error) {
	hash, err := m.hashPassword(ctx, password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		if err := setPasswordTx(ctx, tx, id, hash); err != nil {
			return err
		}
		if err := endSessions(ctx, tx, id); err != nil {
			return err
		}
		if err := endUserTokens(ctx, tx, id, purposeReset, m.now()); err != nil {
			return err
		}
		u, err = getUser(ctx, tx, id)
		return err
	})
	return u, err
}

func setPasswordTx(ctx context.Context, tx *sql.Tx, id int64, hash string) error {
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id)
	if err != nil {
		return fmt.Errorf("models: set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoRecord
	}
	return nil
}

const endSessionsSQL = `UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?`

// endSessions moves the user's session epoch on, so that every session
// signed in before is signed out at its next request. Sessions are not
// looked up and deleted: their store keeps only hashes of their tokens, and
// one UPDATE cannot miss a session that is being saved at the same moment.
func endSessions(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, endSessionsSQL, id); err != nil {
		return fmt.Errorf("models: end sessions: %w", err)
	}
	return nil
}

// SetName changes the user's display name.
func (m *Users) SetName(ctx context.Context, id int64, name string) error {
	return m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET name = ? WHERE id = ?`, strings.TrimSpace(name), id)
		if err != nil {
			return fmt.Errorf("models: set name: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoRecord
		}
		return nil
	})
}

// GrantManageInvites gives the user with that email the manage_invites permission.
func (m *Users) GrantManageInvites(ctx context.Context, email string) (User, error) {
	var u User
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET manage_invites = TRUE WHERE email_key = ?`, EmailKey(email))
		if err != nil {
			return fmt.Errorf("models: grant manage_invites: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoRecord
		}
		u, err = one(tx.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE email_key = ?`, EmailKey(email)), scanUser)
		return err
	})
	return u, err
}
