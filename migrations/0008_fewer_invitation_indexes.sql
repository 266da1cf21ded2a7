-- Every index on invitations is written by every invitation sent, inside
-- the single writer; under load they were most of the cost of the insert.
-- Each query keeps an index that serves it, with fewer of them:
--
-- * the duplicate check (inviter, address) and the joined-independently
--   lookup (address) share one unique index, address first;
-- * the expiry sweep and a sender's own overdue invitations share the index
--   of pending expiries, which carries the inviter (overdue invitations are
--   few: the sweep ends them every minute);
-- * the per-inviter rate limit reads the inviter's latest invitations by id
--   (invitations_inviter_idx) instead of an index by time;
-- * invitations_created_idx served the old dashboard counts, which
--   invitation_days (0007) replaced.
DROP INDEX invitations_inviter_created_idx;
DROP INDEX invitations_created_idx;
DROP INDEX invitations_pending_inviter_expiry_idx;
DROP INDEX invitations_pending_email_idx;
DROP INDEX invitations_one_pending_idx;
CREATE UNIQUE INDEX invitations_one_pending_idx ON invitations(email_key, inviter_id) WHERE status = 'pending';
DROP INDEX invitations_pending_expiry_idx;
CREATE INDEX invitations_pending_expiry_idx ON invitations(expires_at, inviter_id) WHERE status = 'pending';
