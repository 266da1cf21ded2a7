-- PostgreSQL twin of ../0022_events_inviter_index.sql (the reasons are there).
DROP INDEX events_inviter_idx;
CREATE INDEX events_inviter_idx ON events(inviter_id, id) WHERE inviter_id IS DISTINCT FROM user_id;
