-- Section 11, second half: site switches, opting out, declining, earned
-- invitations.
--
-- 1. The status declined. SQLite cannot change a CHECK constraint in place,
-- so invitations is rebuilt (the "other kinds of schema change" procedure of
-- the SQLite manual), inside this migration's transaction:
--
-- * foreign keys stay on in a transaction (PRAGMA foreign_keys is a no-op
--   there), so the old table's DROP deletes its rows first, which cascades
--   to replaced_tokens: those rows are kept aside and put back;
-- * the DROP's implicit delete fires no trigger, so invitation_days keeps
--   its totals, and the new table's triggers are created after the copy, so
--   the copy counts nothing twice;
-- * the copy is SELECT *, so that a column added to invitations by an earlier
--   migration that this one does not know of stops the migration with an
--   error instead of being lost;
-- * foreign keys are checked at the commit (defer_foreign_keys), when every
--   row points where it should again.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE kept_replaced_tokens AS SELECT * FROM replaced_tokens;

CREATE TABLE invitations_new (
    id          INTEGER PRIMARY KEY,
    inviter_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,                  -- as typed
    email_key   TEXT NOT NULL,                  -- trimmed and lower-cased
    note        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'joined_independently', 'expired', 'revoked', 'declined')),
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
INSERT INTO invitations_new SELECT * FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
INSERT INTO replaced_tokens SELECT * FROM temp.kept_replaced_tokens;
DROP TABLE temp.kept_replaced_tokens;

-- The indexes as 0002 and 0008 left them.
CREATE INDEX invitations_inviter_idx ON invitations(inviter_id, id);
CREATE UNIQUE INDEX invitations_one_pending_idx ON invitations(email_key, inviter_id) WHERE status = 'pending';
CREATE INDEX invitations_pending_expiry_idx ON invitations(expires_at, inviter_id) WHERE status = 'pending';
CREATE INDEX invitations_status_idx ON invitations(status, id);
CREATE INDEX invitations_accepted_idx ON invitations(accepted_at) WHERE accepted_at IS NOT NULL;

-- The dashboard's daily totals (0007) count declined invitations apart:
-- like revoked ones they left pending unused, but the invitee chose it.
ALTER TABLE invitation_days ADD COLUMN declined INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER invitations_stats_insert AFTER INSERT ON invitations BEGIN
    INSERT INTO invitation_days (day, sent) VALUES (NEW.created_at / 86400, 1)
        ON CONFLICT (day) DO UPDATE SET sent = sent + 1;
END;

CREATE TRIGGER invitations_stats_insert_ended AFTER INSERT ON invitations
WHEN NEW.status <> 'pending' BEGIN
    INSERT INTO invitation_days (day, accepted, joined_independently, expired, revoked, declined)
        SELECT coalesce(NEW.accepted_at, NEW.ended_at, NEW.revoked_at, NEW.created_at) / 86400,
            NEW.status = 'accepted', NEW.status = 'joined_independently', NEW.status = 'expired',
            NEW.status = 'revoked', NEW.status = 'declined'
        WHERE NEW.status <> 'pending'
        ON CONFLICT (day) DO UPDATE SET accepted = accepted + excluded.accepted,
            joined_independently = joined_independently + excluded.joined_independently,
            expired = expired + excluded.expired, revoked = revoked + excluded.revoked,
            declined = declined + excluded.declined;
END;

CREATE TRIGGER invitations_stats_status AFTER UPDATE OF status ON invitations
WHEN OLD.status IS NOT NEW.status BEGIN
    -- Only from a status other than pending (never done by the app).
    UPDATE invitation_days SET
            accepted = accepted - (OLD.status = 'accepted'),
            joined_independently = joined_independently - (OLD.status = 'joined_independently'),
            expired = expired - (OLD.status = 'expired'), revoked = revoked - (OLD.status = 'revoked'),
            declined = declined - (OLD.status = 'declined')
        WHERE OLD.status <> 'pending' AND day = coalesce(OLD.accepted_at, OLD.ended_at, OLD.revoked_at, OLD.created_at) / 86400;
    INSERT INTO invitation_days (day, accepted, joined_independently, expired, revoked, declined)
        SELECT coalesce(NEW.accepted_at, NEW.ended_at, NEW.revoked_at, unixepoch()) / 86400,
            NEW.status = 'accepted', NEW.status = 'joined_independently', NEW.status = 'expired',
            NEW.status = 'revoked', NEW.status = 'declined'
        WHERE NEW.status <> 'pending'
        ON CONFLICT (day) DO UPDATE SET accepted = accepted + excluded.accepted,
            joined_independently = joined_independently + excluded.joined_independently,
            expired = expired + excluded.expired, revoked = revoked + excluded.revoked,
            declined = declined + excluded.declined;
END;

CREATE TRIGGER invitations_stats_delete AFTER DELETE ON invitations BEGIN
    UPDATE invitation_days SET sent = sent - 1 WHERE day = OLD.created_at / 86400;
    UPDATE invitation_days SET
            accepted = accepted - (OLD.status = 'accepted'),
            joined_independently = joined_independently - (OLD.status = 'joined_independently'),
            expired = expired - (OLD.status = 'expired'), revoked = revoked - (OLD.status = 'revoked'),
            declined = declined - (OLD.status = 'declined')
        WHERE OLD.status <> 'pending' AND day = coalesce(OLD.accepted_at, OLD.ended_at, OLD.revoked_at, OLD.created_at) / 86400;
END;

-- 2. Site switches: one row. Blocked domains have a table of their own, so
-- that an address is checked with one lookup of its domain's suffixes.
-- earned_through is how far (a join time) the earned-invitations sweep has
-- looked, so that each run reads only the members who became eligible since.
CREATE TABLE site_settings (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    joining_paused INTEGER NOT NULL DEFAULT 0 CHECK (joining_paused IN (0, 1)),
    earned_through INTEGER NOT NULL DEFAULT 0
);
INSERT INTO site_settings (id) VALUES (1);

CREATE TABLE blocked_domains (
    domain     TEXT PRIMARY KEY,                -- lower-case ASCII, no leading dot
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- 3. Addresses whose owners asked not to be invited (the email key).
CREATE TABLE optouts (
    email_key  TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- 4. Earned invitations: one row per invitee whose inviter earned through
-- them, so that no invitee earns twice.
CREATE TABLE earned_invitations (
    invitee_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    inviter_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    amount     INTEGER NOT NULL,
    earned_at  INTEGER NOT NULL
);

-- A member ever suspended earns their inviter nothing, even once
-- unsuspended. Suspension itself is section 11's first half, which records
-- the event member_suspended with the member as its subject: that record
-- lasts, so the sweep asks it, through this small partial index.
CREATE INDEX events_member_suspended_idx ON events(subject_id) WHERE kind = 'member_suspended';
