-- Sessions end when credentials change. A session carries the session_epoch
-- its user had when it signed in, and every request compares it with this
-- column; a password change or reset, or the first proof of the address,
-- moves the column on, which ends every session made before.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- Sessions are now kept under the SHA-256 of their token, not the token. A
-- row keyed by a plain token could never be found again, and it is exactly
-- what a leaked backup should not hold: everyone signs in again.
DELETE FROM sessions;

-- API tokens are now only for accounts whose address is proven; those that
-- unverified accounts made before stop working (one made for an address its
-- maker does not own would otherwise live until the owner proves it).
UPDATE api_tokens SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER)
WHERE revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE email_verified_at IS NULL);
