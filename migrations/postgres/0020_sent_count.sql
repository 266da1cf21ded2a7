-- PostgreSQL twin of ../0020_sent_count.sql (the reasons are there).
ALTER TABLE allocations ADD COLUMN sent BIGINT NOT NULL DEFAULT 0;

UPDATE allocations SET sent = (SELECT count(*) FROM invitations WHERE inviter_id = allocations.user_id);

CREATE FUNCTION invitations_sent_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE allocations SET sent = sent + 1 WHERE user_id = NEW.inviter_id;
    RETURN NULL;
END $$;
CREATE TRIGGER invitations_sent_insert AFTER INSERT ON invitations
    FOR EACH ROW EXECUTE FUNCTION invitations_sent_insert();

CREATE FUNCTION invitations_sent_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE allocations SET sent = sent - 1 WHERE user_id = OLD.inviter_id;
    RETURN NULL;
END $$;
CREATE TRIGGER invitations_sent_delete AFTER DELETE ON invitations
    FOR EACH ROW EXECUTE FUNCTION invitations_sent_delete();
