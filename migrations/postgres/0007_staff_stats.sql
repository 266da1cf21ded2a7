-- PostgreSQL twin of ../0007_staff_stats.sql (the reasons are there): the
-- per-day totals, kept in step with invitations by triggers, here plpgsql
-- functions. A comparison is a boolean in PostgreSQL, so it is cast to an
-- integer where SQLite adds it; the column names of the upsert's target are
-- qualified, as PostgreSQL requires beside excluded.
CREATE TABLE invitation_days (
    day                  BIGINT PRIMARY KEY,
    sent                 BIGINT NOT NULL DEFAULT 0,
    accepted             BIGINT NOT NULL DEFAULT 0,
    joined_independently BIGINT NOT NULL DEFAULT 0,
    expired              BIGINT NOT NULL DEFAULT 0,
    revoked              BIGINT NOT NULL DEFAULT 0
);

INSERT INTO invitation_days (day, sent)
    SELECT created_at / 86400, count(*) FROM invitations GROUP BY 1;
INSERT INTO invitation_days AS d (day, accepted, joined_independently, expired, revoked)
    SELECT coalesce(accepted_at, ended_at, revoked_at, created_at) / 86400,
        count(*) FILTER (WHERE status = 'accepted'), count(*) FILTER (WHERE status = 'joined_independently'),
        count(*) FILTER (WHERE status = 'expired'), count(*) FILTER (WHERE status = 'revoked')
    FROM invitations WHERE status <> 'pending' GROUP BY 1
    ON CONFLICT (day) DO UPDATE SET accepted = excluded.accepted, joined_independently = excluded.joined_independently,
        expired = excluded.expired, revoked = excluded.revoked;

-- Adds the invitation's leaving pending (when it has) to the day it left.
CREATE FUNCTION invitation_days_add_ended(inv invitations, fallback BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF inv.status = 'pending' THEN
        RETURN;
    END IF;
    INSERT INTO invitation_days AS d (day, accepted, joined_independently, expired, revoked)
        VALUES (coalesce(inv.accepted_at, inv.ended_at, inv.revoked_at, fallback) / 86400,
            (inv.status = 'accepted')::int, (inv.status = 'joined_independently')::int,
            (inv.status = 'expired')::int, (inv.status = 'revoked')::int)
        ON CONFLICT (day) DO UPDATE SET accepted = d.accepted + excluded.accepted,
            joined_independently = d.joined_independently + excluded.joined_independently,
            expired = d.expired + excluded.expired, revoked = d.revoked + excluded.revoked;
END $$;

-- Takes an ended invitation back off the day it left pending.
CREATE FUNCTION invitation_days_remove_ended(inv invitations) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF inv.status = 'pending' THEN
        RETURN;
    END IF;
    UPDATE invitation_days SET
            accepted = accepted - (inv.status = 'accepted')::int,
            joined_independently = joined_independently - (inv.status = 'joined_independently')::int,
            expired = expired - (inv.status = 'expired')::int, revoked = revoked - (inv.status = 'revoked')::int
        WHERE day = coalesce(inv.accepted_at, inv.ended_at, inv.revoked_at, inv.created_at) / 86400;
END $$;

CREATE FUNCTION invitations_stats_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO invitation_days AS d (day, sent) VALUES (NEW.created_at / 86400, 1)
        ON CONFLICT (day) DO UPDATE SET sent = d.sent + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER invitations_stats_insert AFTER INSERT ON invitations
    FOR EACH ROW EXECUTE FUNCTION invitations_stats_insert();

-- Rows inserted already ended (imports, benchmarks): the app inserts them pending.
CREATE FUNCTION invitations_stats_insert_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM invitation_days_add_ended(NEW, NEW.created_at);
    RETURN NULL;
END $$;
CREATE TRIGGER invitations_stats_insert_ended AFTER INSERT ON invitations
    FOR EACH ROW WHEN (NEW.status <> 'pending') EXECUTE FUNCTION invitations_stats_insert_ended();

CREATE FUNCTION invitations_stats_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only from a status other than pending (never done by the app).
    PERFORM invitation_days_remove_ended(OLD);
    PERFORM invitation_days_add_ended(NEW, extract(epoch FROM now())::bigint);
    RETURN NULL;
END $$;
CREATE TRIGGER invitations_stats_status AFTER UPDATE OF status ON invitations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION invitations_stats_status();

CREATE FUNCTION invitations_stats_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE invitation_days SET sent = sent - 1 WHERE day = OLD.created_at / 86400;
    PERFORM invitation_days_remove_ended(OLD);
    RETURN NULL;
END $$;
CREATE TRIGGER invitations_stats_delete AFTER DELETE ON invitations
    FOR EACH ROW EXECUTE FUNCTION invitations_stats_delete();
