-- PostgreSQL twin of ../0018_rate_events.sql (the reasons are there).
CREATE TABLE rate_events (
    key_hash BYTEA NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX rate_events_key_idx ON rate_events(key_hash, at);
CREATE INDEX rate_events_at_idx ON rate_events(at);
