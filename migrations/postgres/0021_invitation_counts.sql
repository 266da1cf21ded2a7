-- PostgreSQL twin of ../0021_invitation_counts.sql (the reasons are there).
CREATE TABLE invitation_counts (
    user_id  BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    sent     BIGINT NOT NULL DEFAULT 0,
    accepted BIGINT NOT NULL DEFAULT 0 CHECK (accepted >= 0)
);
INSERT INTO invitation_counts (user_id, sent, accepted)
    SELECT user_id, sent, accepted FROM allocations WHERE sent <> 0 OR accepted <> 0;

ALTER TABLE allocations DROP COLUMN sent;
ALTER TABLE allocations DROP COLUMN accepted;

CREATE OR REPLACE FUNCTION invitations_sent_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO invitation_counts (user_id, sent) VALUES (NEW.inviter_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET sent = invitation_counts.sent + 1;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION invitations_sent_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE invitation_counts SET sent = sent - 1 WHERE user_id = OLD.inviter_id;
    RETURN NULL;
END $$;
