-- PostgreSQL twin of ../0019_notifications.sql (the reasons are there).
ALTER TABLE users ADD COLUMN notify_joins BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE invitations ADD COLUMN reminded_at BIGINT;
CREATE INDEX invitations_remind_idx ON invitations(expires_at) WHERE status = 'pending' AND reminded_at IS NULL;
ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX outbox_dedupe_idx ON outbox(dedupe_key);
