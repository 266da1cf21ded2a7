-- Notification emails (SPEC 13).
--
-- notify_joins: the member wants an email when someone joins through one of
-- their invitations (the checkbox on /settings; on unless turned off).
ALTER TABLE users ADD COLUMN notify_joins BOOLEAN NOT NULL DEFAULT TRUE;

-- reminded_at: when the sweep queued the invitation's one reminder; set in
-- the transaction that queues it, so no invitation is reminded twice.
ALTER TABLE invitations ADD COLUMN reminded_at INTEGER;

-- The pending invitations not yet reminded, in expiry order: the sweep
-- reads the ones whose reminder is due as a range of it.
CREATE INDEX invitations_remind_idx ON invitations(expires_at) WHERE status = 'pending' AND reminded_at IS NULL;

-- dedupe_key names an email that must be queued at most once whatever
-- runs twice (a write run again, a second sweep, a restart): "joined:{id}"
-- and "bounced:{id}" for the inviter's emails about invitation id,
-- "reminder:{id}" for its reminder. NULL for the others; NULLs never clash.
ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX outbox_dedupe_idx ON outbox(dedupe_key);
