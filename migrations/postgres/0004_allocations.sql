-- PostgreSQL twin of ../0004_allocations.sql.
CREATE TABLE allocations (
    user_id   BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    allocated BIGINT NOT NULL DEFAULT 0 CHECK (allocated >= 0),
    unlimited BOOLEAN NOT NULL DEFAULT FALSE,
    held      BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    accepted  BIGINT NOT NULL DEFAULT 0 CHECK (accepted >= 0)
);
INSERT INTO allocations (user_id, allocated, unlimited, held, accepted)
    SELECT id, invites_allocated, invites_unlimited, invites_held, invites_accepted FROM users;
ALTER TABLE users DROP COLUMN invites_allocated;
ALTER TABLE users DROP COLUMN invites_unlimited;
ALTER TABLE users DROP COLUMN invites_held;
ALTER TABLE users DROP COLUMN invites_accepted;
