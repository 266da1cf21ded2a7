-- PostgreSQL twin of ../0009_mail_claims.sql (the reasons are there).
ALTER TABLE outbox ADD COLUMN claimed_at BIGINT;
ALTER TABLE outbox ADD COLUMN bounced_at BIGINT;
ALTER TABLE replaced_tokens ADD COLUMN outbox_id BIGINT;

CREATE TABLE user_token_hashes (
    token_hash    BYTEA PRIMARY KEY,
    user_token_id BIGINT NOT NULL REFERENCES user_tokens(id) ON DELETE CASCADE
);
CREATE INDEX user_token_hashes_row_idx ON user_token_hashes(user_token_id);
