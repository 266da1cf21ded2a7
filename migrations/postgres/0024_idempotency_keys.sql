-- PostgreSQL twin of ../0024_idempotency_keys.sql (the reasons are there).
CREATE TABLE idempotency_keys (
    actor_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    request    TEXT NOT NULL,
    changed    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (actor_id, key)
);
