-- PostgreSQL twin of ../0012_moderation.sql.
CREATE TABLE moderation (
    user_id             BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    suspended_at        BIGINT,
    suspended_reason    TEXT NOT NULL DEFAULT '',
    suspended_audit_id  BIGINT,
    ever_suspended      BOOLEAN NOT NULL DEFAULT FALSE,
    inviting_off_at     BIGINT,
    inviting_off_reason TEXT NOT NULL DEFAULT ''
);

ALTER TABLE audit_log ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN invitations_changed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX audit_log_target_idx ON audit_log(target_id, id) WHERE target_id IS NOT NULL;
