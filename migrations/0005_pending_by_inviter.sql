-- Sending an invitation first ends the sender's own overdue invitations;
-- finding them must not walk every invitation the sender ever sent.
CREATE INDEX invitations_pending_inviter_expiry_idx ON invitations(inviter_id, expires_at) WHERE status = 'pending';
