-- What became of a member's invitations (how many they sent, how many were
-- accepted) moves out of allocations into a table of its own, so that
-- allocations is again the narrow table 0004 made it: what staff change in
-- bulk, and nothing else. Two counters that are zero for most members still
-- cost every allocation row two bytes, and a top-off of a million users
-- rewrites every row: the table was a fifth more pages than it needs
-- (3,826 against 3,095), a fifth more time in the statement, and three
-- top-offs in a row outgrew the write-ahead log's backstop
-- (docs/performance.md, W3).
--
-- A member has a row here from their first invitation on; a member without
-- one has sent none and had none accepted (readers coalesce to 0).
CREATE TABLE invitation_counts (
    user_id  INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    sent     INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0 CHECK (accepted >= 0)
);
INSERT INTO invitation_counts (user_id, sent, accepted)
    SELECT user_id, sent, accepted FROM allocations WHERE sent <> 0 OR accepted <> 0;

DROP TRIGGER invitations_sent_insert;
DROP TRIGGER invitations_sent_delete;
ALTER TABLE allocations DROP COLUMN sent;
ALTER TABLE allocations DROP COLUMN accepted;

CREATE TRIGGER invitations_sent_insert AFTER INSERT ON invitations BEGIN
    INSERT INTO invitation_counts (user_id, sent) VALUES (NEW.inviter_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET sent = sent + 1;
END;

CREATE TRIGGER invitations_sent_delete AFTER DELETE ON invitations BEGIN
    UPDATE invitation_counts SET sent = sent - 1 WHERE user_id = OLD.inviter_id;
END;
