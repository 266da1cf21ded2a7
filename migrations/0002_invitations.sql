-- Invitations. status is what became of one: pending until its link is used
-- (accepted), its invitee joins another way (joined_independently), it runs
-- out (expired) or its inviter withdraws it (revoked). A pending invitation
-- past expires_at reads as expired at once; the sweep makes that durable.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    inviter_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,                  -- as typed
    email_key   TEXT NOT NULL,                  -- trimmed and lower-cased
    note        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'joined_independently', 'expired', 'revoked')),
    token_hash  BLOB UNIQUE,                    -- SHA-256 of the live link's token; NULL until mailed
    outbox_id   INTEGER REFERENCES outbox(id),  -- the latest email for it
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL,               -- the latest send or resend
    expires_at  INTEGER NOT NULL,
    resends     INTEGER NOT NULL DEFAULT 0,
    accepted_at INTEGER,
    revoked_at  INTEGER,
    ended_at    INTEGER,
    invitee_id  INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX invitations_inviter_idx ON invitations(inviter_id, id);
CREATE INDEX invitations_inviter_created_idx ON invitations(inviter_id, created_at);
CREATE UNIQUE INDEX invitations_one_pending_idx ON invitations(inviter_id, email_key) WHERE status = 'pending';
CREATE INDEX invitations_pending_email_idx ON invitations(email_key) WHERE status = 'pending';
CREATE INDEX invitations_pending_expiry_idx ON invitations(expires_at) WHERE status = 'pending';
CREATE INDEX invitations_status_idx ON invitations(status, id);
CREATE INDEX invitations_created_idx ON invitations(created_at);
CREATE INDEX invitations_accepted_idx ON invitations(accepted_at) WHERE accepted_at IS NOT NULL;

-- Links that a resend replaced, so that an old link can say why it is dead.
CREATE TABLE replaced_tokens (
    token_hash    BLOB PRIMARY KEY,
    invitation_id INTEGER NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    replaced_at   INTEGER NOT NULL
);
