package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const (
	purposeConfirm = "confirm_email"
	purposeReset   = "password_reset"

	confirmTTL = 72 * time.Hour
	resetTTL   = time.Hour
)

// queueUserToken creates a confirmation or reset token row for u and queues
// its email; the token itself is minted when the email is delivered.
func queueUserToken(ctx context.Context, tx *sql.Tx, c *core, ch *change, u User, purpose string) error {
	now := c.now()
	ttl, email := confirmTTL, c.opts.Composer.Confirmation(u)
	email.Kind = purposeConfirm
	if purpose == purposeReset {
		ttl, email = resetTTL, c.opts.Composer.PasswordReset(u)
		email.Kind = purposeReset
	}
	id, err := insertID(ctx, tx, c.engine,
		`INSERT INTO user_tokens (user_id, purpose, email_key, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, purpose, EmailKey(u.Email), unix(now), unix(now.Add(ttl)))
	if err != nil {
		return fmt.Errorf("models: insert %s token: %w", purpose, err)
	}
	_, err = enqueue(ctx, tx, c.engine, ch, now, email, tokenUser, id)
	return err
}

// userToken is one row of user_tokens.
type userToken struct {
	id, userID int64
	emailKey   string
	expires    time.Time
	used       bool
}

// lookupUserToken finds a usable token of purpose, or says why it is not.
func lookupUserToken(ctx context.Context, q queryer, token, purpose string, now time.Time) (userToken, error) {
	if !plausibleToken(token) {
		return userToken{}, ErrTokenUnknown
	}
	var t userToken
	var used sql.NullInt64
	var expires int64
	// A hash the worker minted before minting again for the same email
	// (user_token_hashes) is as good as the current one: that email may
	// have been delivered.
	err := q.QueryRowContext(ctx, `SELECT id, user_id, email_key, expires_at, used_at FROM user_tokens
		WHERE id = coalesce((SELECT id FROM user_tokens WHERE token_hash = ?1),
			(SELECT user_token_id FROM user_token_hashes WHERE token_hash = ?1)) AND purpose = ?2`,
		HashToken(token), purpose).Scan(&t.id, &t.userID, &t.emailKey, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return userToken{}, ErrTokenUnknown
	}
	if err != nil {
		return userToken{}, fmt.Errorf("models: look up token: %w", err)
	}
	t.expires, t.used = time.Unix(expires, 0).UTC(), used.Valid
	switch {
	case t.used:
		return t, ErrTokenUsed
	case !now.Before(t.expires):
		return t, ErrTokenExpired
	}
	return t, nil
}

// CheckConfirmToken reports, changing nothing, whether token would confirm
// an address, and which one.
func (m *Users) CheckConfirmToken(ctx context.Context, token string) (string, error) {
	t, err := lookupUserToken(ctx, m.db, token, purposeConfirm, m.now())
	if err != nil {
		return "", err
	}
	return m.tokenStillFits(ctx, m.db, t)
}

// tokenStillFits refuses a confirmation token for an address the user no
// longer has; it returns the address, as the user wrote it.
func (m *Users) tokenStillFits(ctx context.Context, q queryer, t userToken) (string, error) {
	var email, key string
	err := q.QueryRowContext(ctx, `SELECT email, email_key FROM users WHERE id = ?`, t.userID).Scan(&email, &key)
	if errors.Is(err, sql.ErrNoRows) || err == nil && key != t.emailKey {
		return "", ErrTokenUnknown
	}
	if err != nil {
		return "", fmt.Errorf("models: check token owner: %w", err)
	}
	return email, nil
}

// ConfirmEmail uses a confirmation token: the user's address becomes
// verified, every other confirmation link of theirs dies, and every pending
// invitation to the address from anyone ends as joined independently. When
// the account had never proven an address before, whoever made it may not
// have owned the address: every session and API token made until now ends
// (the caller may sign its own session in again when it is this user's).
func (m *Users) ConfirmEmail(ctx context.Context, token string) (User, error) {
	var u User
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		t, err := lookupUserToken(ctx, tx, token, purposeConfirm, now)
		if err != nil {
			return err
		}
		if _, err := m.tokenStillFits(ctx, tx, t); err != nil {
			return err
		}
		if err := endUserTokens(ctx, tx, t.userID, purposeConfirm, now); err != nil {
			return err
		}
		if u, err = getUser(ctx, tx, t.userID); err != nil {
			return err
		}
		if u.Verified() {
			return nil
		}
		if u, err = proveAddress(ctx, tx, u, now); err != nil {
			return err
		}
		return endPendingForNewMember(ctx, tx, ch, u, 0, now)
	})
	return u, err
}

// proveAddress marks u's address verified for the first time and ends what
// was made before anyone had shown they own it: every session and every API
// token of the account. It returns u as now stored.
func proveAddress(ctx context.Context, tx *sql.Tx, u User, now time.Time) (User, error) {
	if _, err := tx.ExecContext(ctx,
		`UPDATE users SET email_verified_at = ? WHERE id = ? AND email_verified_at IS NULL`, unix(now), u.ID); err != nil {
		return User{}, fmt.Errorf("models: verify email: %w", err)
	}
	if err := endSessions(ctx, tx, u.ID); err != nil {
		return User{}, err
	}
	if err := revokeAPITokens(ctx, tx, u.ID, now); err != nil {
		return User{}, err
	}
	if err := endUserTokens(ctx, tx, u.ID, purposeConfirm, now); err != nil {
		return User{}, err
	}
	return getUser(ctx, tx, u.ID)
}

const endUserTokensSQL = `UPDATE user_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL`

// endUserTokens makes every unused link of purpose of the user unusable.
func endUserTokens(ctx context.Context, tx *sql.Tx, userID int64, purpose string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, endUserTokensSQL, unix(now), userID, purpose); err != nil {
		return fmt.Errorf("models: end %s tokens: %w", purpose, err)
	}
	return nil
}

// ResendConfirmation queues a new confirmation email for an unverified user.
func (m *Users) ResendConfirmation(ctx context.Context, id int64) error {
	return m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		u, err := getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Verified() {
			return nil
		}
		return queueUserToken(ctx, tx, m.core, ch, u, purposeConfirm)
	})
}

// RequestPasswordReset queues a reset email when login names an account and
// does nothing otherwise; callers answer the same either way.
func (m *Users) RequestPasswordReset(ctx context.Context, email string) error {
	return m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		u, err := one(tx.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE email_key = ?`, EmailKey(email)), scanUser)
		if errors.Is(err, ErrNoRecord) {
			return nil
		}
		if err != nil {
			return err
		}
		return queueUserToken(ctx, tx, m.core, ch, u, purposeReset)
	})
}

// CheckResetToken returns, changing nothing, the user a reset token is for.
func (m *Users) CheckResetToken(ctx context.Context, token string) (User, error) {
	t, err := lookupUserToken(ctx, m.db, token, purposeReset, m.now())
	if err != nil {
		return User{}, err
	}
	return m.Get(ctx, t.userID)
}

// ResetPassword uses a reset token to set a new password. Every other reset
// token of the user dies with it. A reset is a change of credentials made by
// whoever reads the account's mail, so every session and every API token of
// the account ends (the caller signs the resetting browser in afresh). The
// reset also proves the address, since only its owner could read the email.
func (m *Users) ResetPassword(ctx context.Context, token, password string) (User, error) {
	hash, err := m.hashPassword(ctx, password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		t, err := lookupUserToken(ctx, tx, token, purposeReset, now)
		if err != nil {
			return err
		}
		if err := endUserTokens(ctx, tx, t.userID, purposeReset, now); err != nil {
			return err
		}
		if err := setPasswordTx(ctx, tx, t.userID, hash); err != nil {
			return err
		}
		if err := endSessions(ctx, tx, t.userID); err != nil {
			return err
		}
		if err := revokeAPITokens(ctx, tx, t.userID, now); err != nil {
			return err
		}
		if u, err = getUser(ctx, tx, t.userID); err != nil {
			return err
		}
		if !u.Verified() && EmailKey(u.Email) == t.emailKey {
			if u, err = proveAddress(ctx, tx, u, now); err != nil {
				return err
			}
			return endPendingForNewMember(ctx, tx, ch, u, 0, now)
		}
		return nil
	})
	return u, err
}
