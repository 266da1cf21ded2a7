-- PostgreSQL twin of ../0010_session_epoch.sql (the reasons are there).
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;

DELETE FROM sessions;

UPDATE api_tokens SET revoked_at = extract(epoch FROM now())::bigint
WHERE revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE email_verified_at IS NULL);
