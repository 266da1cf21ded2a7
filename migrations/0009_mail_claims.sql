-- Mail that survives a crash and a bounce.
--
-- outbox.status keeps its CHECK constraint (SQLite cannot alter one, and
-- invitations.outbox_id references the table, so it is not rebuilt): the new
-- states are columns beside it.
--
-- claimed_at is set, in the transaction that mints an email's token, while a
-- worker sends it; next_attempt_at then holds the end of that claim, so an
-- email whose sender died becomes due again by itself once the claim runs
-- out (and at once when `beckon serve` starts on SQLite, which one process
-- owns). Recording the attempt clears it.
ALTER TABLE outbox ADD COLUMN claimed_at INTEGER;
-- bounced_at is set, with status 'failed', when the SMTP server refused the
-- recipient for good (a 5xx answer); the delivery then reads "bounced".
ALTER TABLE outbox ADD COLUMN bounced_at INTEGER;

-- A token the worker minted for an email it then sent again (after a crash
-- or a failed attempt) may have reached the invitee: it stays valid while
-- that email is still the invitation's latest (outbox_id = the invitation's
-- outbox_id). A member's resend queues a new email, which turns every
-- earlier token into a replaced one; the rows a resend writes have no
-- outbox_id, so they are replaced from the start.
ALTER TABLE replaced_tokens ADD COLUMN outbox_id INTEGER;

-- The same for confirmation and reset tokens: earlier hashes of one
-- user_tokens row, each as valid as the row (used, expired and owner checks
-- are the row's).
CREATE TABLE user_token_hashes (
    token_hash    BLOB PRIMARY KEY,
    user_token_id INTEGER NOT NULL REFERENCES user_tokens(id) ON DELETE CASCADE
);
CREATE INDEX user_token_hashes_row_idx ON user_token_hashes(user_token_id);
