-- PostgreSQL twin of ../0008_fewer_invitation_indexes.sql (the reasons are there).
DROP INDEX invitations_inviter_created_idx;
DROP INDEX invitations_created_idx;
DROP INDEX invitations_pending_inviter_expiry_idx;
DROP INDEX invitations_pending_email_idx;
DROP INDEX invitations_one_pending_idx;
CREATE UNIQUE INDEX invitations_one_pending_idx ON invitations(email_key, inviter_id) WHERE status = 'pending';
DROP INDEX invitations_pending_expiry_idx;
CREATE INDEX invitations_pending_expiry_idx ON invitations(expires_at, inviter_id) WHERE status = 'pending';
