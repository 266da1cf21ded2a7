-- The staff dashboard's totals, kept in step with invitations by triggers, so
-- that /staff reads a few dozen small rows instead of counting every
-- invitation (with a million invitations the counts took 0.5 s a page view;
-- these rows, under a millisecond).
--
-- One row per UTC day (Unix time / 86400): the invitations sent that day,
-- and those that left pending that day, by where they went. Every invitation
-- starts pending and leaves it at most once, so the totals are the sums over
-- all days and pending is what was sent and has not left; joins through a
-- link per day are the accepted column. Each change to an invitation is one
-- upsert of one row (today's, on the table's last page), in the transaction
-- of the change, so the totals are exact and cost the writer little.
CREATE TABLE invitation_days (
    day                  INTEGER PRIMARY KEY,
    sent                 INTEGER NOT NULL DEFAULT 0,
    accepted             INTEGER NOT NULL DEFAULT 0,
    joined_independently INTEGER NOT NULL DEFAULT 0,
    expired              INTEGER NOT NULL DEFAULT 0,
    revoked              INTEGER NOT NULL DEFAULT 0
);

-- The day an invitation left pending: when it was accepted, or ended.
INSERT INTO invitation_days (day, sent)
    SELECT created_at / 86400, count(*) FROM invitations WHERE true GROUP BY 1;
INSERT INTO invitation_days (day, accepted, joined_independently, expired, revoked)
    SELECT coalesce(accepted_at, ended_at, revoked_at, created_at) / 86400,
        count(*) FILTER (WHERE status = 'accepted'), count(*) FILTER (WHERE status = 'joined_independently'),
        count(*) FILTER (WHERE status = 'expired'), count(*) FILTER (WHERE status = 'revoked')
    FROM invitations WHERE status <> 'pending' GROUP BY 1
    ON CONFLICT (day) DO UPDATE SET accepted = excluded.accepted, joined_independently = excluded.joined_independently,
        expired = excluded.expired, revoked = excluded.revoked;

CREATE TRIGGER invitations_stats_insert AFTER INSERT ON invitations BEGIN
    INSERT INTO invitation_days (day, sent) VALUES (NEW.created_at / 86400, 1)
        ON CONFLICT (day) DO UPDATE SET sent = sent + 1;
END;

-- Rows inserted already ended (imports, benchmarks): the app inserts them pending.
CREATE TRIGGER invitations_stats_insert_ended AFTER INSERT ON invitations
WHEN NEW.status <> 'pending' BEGIN
    INSERT INTO invitation_days (day, accepted, joined_independently, expired, revoked)
        SELECT coalesce(NEW.accepted_at, NEW.ended_at, NEW.revoked_at, NEW.created_at) / 86400,
            NEW.status = 'accepted', NEW.status = 'joined_independently', NEW.status = 'expired', NEW.status = 'revoked'
        WHERE NEW.status <> 'pending'
        ON CONFLICT (day) DO UPDATE SET accepted = accepted + excluded.accepted,
            joined_independently = joined_independently + excluded.joined_independently,
            expired = expired + excluded.expired, revoked = revoked + excluded.revoked;
END;

CREATE TRIGGER invitations_stats_status AFTER UPDATE OF status ON invitations
WHEN OLD.status IS NOT NEW.status BEGIN
    -- Only from a status other than pending (never done by the app).
    UPDATE invitation_days SET
            accepted = accepted - (OLD.status = 'accepted'),
            joined_independently = joined_independently - (OLD.status = 'joined_independently'),
            expired = expired - (OLD.status = 'expired'), revoked = revoked - (OLD.status = 'revoked')
        WHERE OLD.status <> 'pending' AND day = coalesce(OLD.accepted_at, OLD.ended_at, OLD.revoked_at, OLD.created_at) / 86400;
    INSERT INTO invitation_days (day, accepted, joined_independently, expired, revoked)
        SELECT coalesce(NEW.accepted_at, NEW.ended_at, NEW.revoked_at, unixepoch()) / 86400,
            NEW.status = 'accepted', NEW.status = 'joined_independently', NEW.status = 'expired', NEW.status = 'revoked'
        WHERE NEW.status <> 'pending'
        ON CONFLICT (day) DO UPDATE SET accepted = accepted + excluded.accepted,
            joined_independently = joined_independently + excluded.joined_independently,
            expired = expired + excluded.expired, revoked = revoked + excluded.revoked;
END;

CREATE TRIGGER invitations_stats_delete AFTER DELETE ON invitations BEGIN
    UPDATE invitation_days SET sent = sent - 1 WHERE day = OLD.created_at / 86400;
    UPDATE invitation_days SET
            accepted = accepted - (OLD.status = 'accepted'),
            joined_independently = joined_independently - (OLD.status = 'joined_independently'),
            expired = expired - (OLD.status = 'expired'), revoked = revoked - (OLD.status = 'revoked')
        WHERE OLD.status <> 'pending' AND day = coalesce(OLD.accepted_at, OLD.ended_at, OLD.revoked_at, OLD.created_at) / 86400;
END;
