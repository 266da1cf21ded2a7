-- PostgreSQL twin of ../0005_pending_by_inviter.sql.
CREATE INDEX invitations_pending_inviter_expiry_idx ON invitations(inviter_id, expires_at) WHERE status = 'pending';
