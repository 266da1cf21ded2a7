-- Rate limits shared by every process on one database (SPEC 14): one row
-- per counted attempt, under the SHA-256 of the limiter's name and key (an
-- address, an account), so that no address or login is kept. A key's rows
-- older than its window are deleted when it is counted again, and every
-- row older than a day by the periodic sweep.
CREATE TABLE rate_events (
    key_hash BLOB NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX rate_events_key_idx ON rate_events(key_hash, at);
CREATE INDEX rate_events_at_idx ON rate_events(at);
