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

// APITokens is the table of bearer tokens for the JSON API.
type APITokens struct{ *core }

// APIToken is one token, without its secret (which is never stored).
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
}

// CheckTokenName validates a token's name: 1 to 60 characters.
func CheckTokenName(v *Validator, field, name string) {
	v.Check(name != "", field, "Give the token a name, such as the program that will use it.")
	v.Check(utf8.RuneCountInString(name) <= 60, field, "Use at most 60 characters.")
	v.Check(PlainLine(name), field, hiddenMessage)
}

// lastUsedEvery is how stale last_used_at may get: recording every use would
// make every API request a write.
const lastUsedEvery = time.Minute

// Create makes a token for the user and returns it, in full, the only time it
// is ever seen. A user whose address is not proven gets ErrTokensNeedVerified:
// whoever made such an account may not own the address, and a token is as
// good as a password for the API.
func (m *APITokens) Create(ctx context.Context, userID int64, name string) (string, APIToken, error) {
	token, hash := NewToken()
	t := APIToken{UserID: userID, Name: strings.TrimSpace(name), CreatedAt: m.now()}
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		u, err := getUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if !u.Verified() {
			return ErrTokensNeedVerified
		}
		if t.ID, err = insertID(ctx, tx, m.engine, `INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`,
			userID, t.Name, hash, unix(t.CreatedAt)); err != nil {
			return fmt.Errorf("models: insert api token: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", APIToken{}, err
	}
	return token, t, nil
}

// List returns the user's live tokens, newest first.
func (m *APITokens) List(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT id, user_id, name, created_at, last_used_at FROM api_tokens
		WHERE user_id = ? AND revoked_at IS NULL ORDER BY id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("models: list api tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &created, &used); err != nil {
			return nil, fmt.Errorf("models: list api tokens: %w", err)
		}
		t.CreatedAt, t.LastUsedAt = time.Unix(created, 0).UTC(), fromUnix(used)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: list api tokens: %w", err)
	}
	return out, nil
}

// Revoke ends one of the user's tokens; another user's token is ErrNoRecord.
func (m *APITokens) Revoke(ctx context.Context, userID, id int64) error {
	return m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
			unix(m.now()), id, userID)
		if err != nil {
			return fmt.Errorf("models: revoke api token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoRecord
		}
		return nil
	})
}

const revokeAPITokensSQL = `UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`

// revokeAPITokens ends every live token of the user, in one statement.
func revokeAPITokens(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, revokeAPITokensSQL, unix(now), userID); err != nil {
		return fmt.Errorf("models: revoke api tokens: %w", err)
	}
	return nil
}

// Authenticate returns the user a live token belongs to, or ErrTokenUnknown.
// The lookup is by the token's hash, so no comparison of secrets takes place
// that could leak their contents through timing.
func (m *APITokens) Authenticate(ctx context.Context, token string) (User, error) {
	if !plausibleToken(token) {
		return User{}, ErrTokenUnknown
	}
	var id, userID int64
	var used sql.NullInt64
	err := m.db.QueryRowContext(ctx, `SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL`,
		HashToken(token)).Scan(&id, &userID, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrTokenUnknown
	}
	if err != nil {
		return User{}, fmt.Errorf("models: look up api token: %w", err)
	}
	now := m.now()
	if now.Sub(fromUnix(used)) >= lastUsedEvery {
		if err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, unix(now), id)
			return err
		}); err != nil {
			return User{}, fmt.Errorf("models: note api token use: %w", err)
		}
	}
	return m.getUserByID(ctx, userID)
}

func (m *APITokens) getUserByID(ctx context.Context, id int64) (User, error) {
	u, err := getUser(ctx, m.db, id)
	if errors.Is(err, ErrNoRecord) {
		return User{}, ErrTokenUnknown
	}
	return u, err
}
