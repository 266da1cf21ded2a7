-- Sessions for scs's sqlite3store (it does not create its own table).
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry REAL NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions(expiry);

-- Times are Unix seconds (UTC) throughout.
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    email             TEXT NOT NULL,
    email_key         TEXT NOT NULL UNIQUE,          -- trimmed, lower-cased email
    username          TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL DEFAULT '',
    password_hash     TEXT NOT NULL,
    is_staff          INTEGER NOT NULL DEFAULT 0,
    is_superuser      INTEGER NOT NULL DEFAULT 0,
    manage_invites    INTEGER NOT NULL DEFAULT 0,
    email_verified_at INTEGER,
    joined_at         INTEGER NOT NULL,
    invited_by        INTEGER REFERENCES users(id),
    -- Allocation. held counts the user's pending and accepted invitations and
    -- accepted the accepted ones; both are kept in step with the invitations
    -- table inside the transaction that changes an invitation, so that taking
    -- an invitation is one conditional UPDATE and staff bulk changes are one
    -- set-based statement over this table.
    invites_allocated INTEGER NOT NULL DEFAULT 0 CHECK (invites_allocated >= 0),
    invites_unlimited INTEGER NOT NULL DEFAULT 0 CHECK (invites_unlimited IN (0, 1)),
    invites_held      INTEGER NOT NULL DEFAULT 0 CHECK (invites_held >= 0),
    invites_accepted  INTEGER NOT NULL DEFAULT 0 CHECK (invites_accepted >= 0)
);
CREATE INDEX users_invited_by_idx ON users(invited_by);

-- Single-use tokens for email confirmation and password reset. Only the
-- SHA-256 of a token is stored; the token itself exists only in the email.
CREATE TABLE user_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('confirm_email', 'password_reset')),
    email_key  TEXT NOT NULL,                        -- the address the token proves
    token_hash BLOB UNIQUE,                          -- NULL until the email is sent
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX user_tokens_user_idx ON user_tokens(user_id, purpose);

-- Emails are queued here in the transaction of the change that causes them
-- and delivered after the commit by a background worker. A message that
-- carries a link holds the placeholder token; the worker mints the real token
-- at delivery time (token_kind and token_ref say whose hash to set), so no
-- raw token is ever written to the database.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    to_addr         TEXT NOT NULL,
    to_key          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL DEFAULT '',
    token_kind      TEXT NOT NULL DEFAULT '' CHECK (token_kind IN ('', 'invitation', 'user_token')),
    token_ref       INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due_idx ON outbox(next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_recipient_idx ON outbox(to_key, kind, created_at);

-- Events, written in the transaction of the change they describe.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    INTEGER,
    subject_id INTEGER,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX events_kind_idx ON events(kind, created_at);
