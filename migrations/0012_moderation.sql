-- Moderation (SPEC section 11). A member's standing lives in a narrow table
-- of its own, with a row only for members staff acted on: suspending a
-- subtree of 100,000 members writes 100,000 small rows instead of rewriting
-- as many whole users, and a check of one member's standing (every signed-in
-- request, every invitation sent) is one primary-key lookup.
CREATE TABLE moderation (
    user_id             INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    suspended_at        INTEGER,                    -- NULL: not suspended
    suspended_reason    TEXT NOT NULL DEFAULT '',
    suspended_audit_id  INTEGER,                    -- the audit entry that suspended them
    ever_suspended      INTEGER NOT NULL DEFAULT 0, -- earned invitations count only members never suspended
    inviting_off_at     INTEGER,                    -- NULL: inviting allowed
    inviting_off_reason TEXT NOT NULL DEFAULT ''
);

-- Audit entries say why (a reason staff gave) and how many invitations a
-- moderation action ended, besides the users it changed.
ALTER TABLE audit_log ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN invitations_changed INTEGER NOT NULL DEFAULT 0;
-- A member's moderation history on /staff/users/{id}.
CREATE INDEX audit_log_target_idx ON audit_log(target_id, id) WHERE target_id IS NOT NULL;
