-- Shareable links (SPEC 12): one link admits up to `uses` sign-ups. Making
-- it holds `uses` invitations of its creator's allocation; each join turns
-- one held invitation into an accepted invitation row of the link
-- (invitations.link_id), and closing or expiry gives back the unused ones.
-- The token is derived from a site secret kept outside the database (an
-- HMAC of the secret, the id and nonce), so this table holds only its
-- SHA-256: a copy of the database opens no link.
CREATE TABLE links (
    id         INTEGER PRIMARY KEY,
    creator_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    nonce      BLOB NOT NULL,
    token_hash BLOB UNIQUE,                 -- set in the transaction that inserts the row
    uses       INTEGER NOT NULL CHECK (uses >= 1),
    used       INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= uses),
    label      TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'used', 'closed', 'expired')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at   INTEGER
);
CREATE INDEX links_creator_idx ON links(creator_id, id);
CREATE INDEX links_open_expiry_idx ON links(expires_at) WHERE status = 'open';

-- A private label on an invitation, and the link an invitation was made by.
ALTER TABLE invitations ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE invitations ADD COLUMN link_id INTEGER REFERENCES links(id) ON DELETE SET NULL;
CREATE INDEX invitations_link_idx ON invitations(link_id) WHERE link_id IS NOT NULL;
-- Only labelled invitations are in it, so unlabelled sends pay nothing.
CREATE INDEX invitations_label_idx ON invitations(label, id) WHERE label <> '';
