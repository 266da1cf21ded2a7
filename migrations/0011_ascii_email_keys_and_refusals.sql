-- Email keys become the address with only ASCII A-Z lower-cased (SPEC 3):
-- Go's strings.ToLower folded look-alikes such as U+212A KELVIN SIGN onto
-- "k", so an account for "\u212Aate@x" held the key of "kate@x". SQLite's
-- built-in lower() changes ASCII letters only, which is the new rule. Keys
-- only become more distinct, so no unique index can be broken. A token's
-- key is recomputed from its user's address while the two still match.
UPDATE user_tokens SET email_key = lower((SELECT email FROM users WHERE users.id = user_tokens.user_id))
    WHERE email_key = (SELECT email_key FROM users WHERE users.id = user_tokens.user_id);
UPDATE users SET email_key = lower(email) WHERE email_key <> lower(email);
UPDATE invitations SET email_key = lower(email) WHERE email_key <> lower(email);
UPDATE outbox SET to_key = lower(to_addr) WHERE to_key <> lower(to_addr);

-- Invitations refused as "already a member" or "already invited" count, with
-- the invitations sent, towards the inviter's hourly limit, so that the
-- invite form is no unlimited oracle of who is registered. Rows older than
-- the hour are deleted as the inviter makes new ones.
CREATE TABLE invite_refusals (
    id         INTEGER PRIMARY KEY,
    inviter_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason     TEXT NOT NULL CHECK (reason IN ('already_member', 'already_invited')),
    created_at INTEGER NOT NULL
);
CREATE INDEX invite_refusals_inviter_idx ON invite_refusals(inviter_id, id);
