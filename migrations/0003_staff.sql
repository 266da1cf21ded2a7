-- What staff (or an operator on the command line) changed: one row per
-- operation, with how many users it changed.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    actor_id      INTEGER REFERENCES users(id) ON DELETE SET NULL, -- NULL: the command line
    action        TEXT NOT NULL,        -- topoff, addto, unlimited_on, unlimited_off, revoke
    amount        INTEGER,              -- NULL where the action takes none
    target_id     INTEGER,              -- the user (or invitation, for revoke); NULL: every user
    only_empty    INTEGER NOT NULL DEFAULT 0,
    users_changed INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX audit_log_created_idx ON audit_log(id DESC);

-- Staff search users by the start of their email address; the unique
-- index on email_key serves it. Joins per day read users by join date.
CREATE INDEX users_joined_idx ON users(joined_at);
