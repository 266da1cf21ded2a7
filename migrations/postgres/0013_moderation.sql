-- PostgreSQL twin of ../0013_moderation.sql (the reasons are there).
-- PostgreSQL changes a CHECK constraint in place, so invitations is not
-- rebuilt: its status constraint is replaced, and the daily totals'
-- functions are replaced to count declined invitations apart.
ALTER TABLE invitations DROP CONSTRAINT invitations_status_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_status_check
    CHECK (status IN ('pending', 'accepted', 'joined_independently', 'expired', 'revoked', 'declined'));

ALTER TABLE invitation_days ADD COLUMN declined BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION invitation_days_add_ended(inv invitations, fallback BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF inv.status = 'pending' THEN
        RETURN;
    END IF;
    INSERT INTO invitation_days AS d (day, accepted, joined_independently, expired, revoked, declined)
        VALUES (coalesce(inv.accepted_at, inv.ended_at, inv.revoked_at, fallback) / 86400,
            (inv.status = 'accepted')::int, (inv.status = 'joined_independently')::int,
            (inv.status = 'expired')::int, (inv.status = 'revoked')::int, (inv.status = 'declined')::int)
        ON CONFLICT (day) DO UPDATE SET accepted = d.accepted + excluded.accepted,
            joined_independently = d.joined_independently + excluded.joined_independently,
            expired = d.expired + excluded.expired, revoked = d.revoked + excluded.revoked,
            declined = d.declined + excluded.declined;
END $$;

CREATE OR REPLACE FUNCTION invitation_days_remove_ended(inv invitations) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF inv.status = 'pending' THEN
        RETURN;
    END IF;
    UPDATE invitation_days SET
            accepted = accepted - (inv.status = 'accepted')::int,
            joined_independently = joined_independently - (inv.status = 'joined_independently')::int,
            expired = expired - (inv.status = 'expired')::int, revoked = revoked - (inv.status = 'revoked')::int,
            declined = declined - (inv.status = 'declined')::int
        WHERE day = coalesce(inv.accepted_at, inv.ended_at, inv.revoked_at, inv.created_at) / 86400;
END $$;

CREATE TABLE site_settings (
    id             BIGINT PRIMARY KEY CHECK (id = 1),
    joining_paused BOOLEAN NOT NULL DEFAULT FALSE,
    earned_through BIGINT NOT NULL DEFAULT 0
);
INSERT INTO site_settings (id) VALUES (1);

CREATE TABLE blocked_domains (
    domain     TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE optouts (
    email_key  TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE earned_invitations (
    invitee_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    inviter_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    amount     BIGINT NOT NULL,
    earned_at  BIGINT NOT NULL
);

CREATE INDEX events_member_suspended_idx ON events(subject_id) WHERE kind = 'member_suspended';
