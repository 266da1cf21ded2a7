-- Sessions end when credentials change. A session carries the session_epoch
-- its user had when it signed in, and every request compares it with this
-- column; a password change or reset, or the first proof of the address,
-- moves the column on, which ends every session made before.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- Sessions are now kept under the SHA-256 of their token, not the token. A
-- row keyed by a plain token could never be found again, and it is exactly
-- what a leaked backup should not hold: everyone signs in again.
DELETE FROM sessions;
