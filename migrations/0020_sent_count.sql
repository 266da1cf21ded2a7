-- How many invitations each member has sent, kept beside their allocation
-- by a trigger, so that the sent list's "1,000 invitations" and its page
-- count are read with the signed-in user instead of counted on every page
-- (counting a member's 1,000 invitations was a sixth of GET /invitations;
-- docs/performance.md). Invitations are made pending by two statements
-- (an emailed invitation, a join through a link) and never deleted by the
-- app; the delete trigger keeps the count right for whatever else might.
ALTER TABLE allocations ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;

UPDATE allocations SET sent = (SELECT count(*) FROM invitations WHERE inviter_id = allocations.user_id);

CREATE TRIGGER invitations_sent_insert AFTER INSERT ON invitations BEGIN
    UPDATE allocations SET sent = sent + 1 WHERE user_id = NEW.inviter_id;
END;

CREATE TRIGGER invitations_sent_delete AFTER DELETE ON invitations BEGIN
    UPDATE allocations SET sent = sent - 1 WHERE user_id = OLD.inviter_id;
END;
