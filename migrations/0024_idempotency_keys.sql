-- Idempotency keys of the staff allocation changes. A form carries a key
-- made when it was rendered, and an API client may send one
-- (Idempotency-Key): the change and its key commit together, and the same
-- key again answers with the first run's count instead of changing
-- allocations twice (a double click on "Add to everyone", a retried
-- request). request is what the key was used for, so the same key with
-- other values is refused. A key lasts a day (pruned as the actor uses
-- new ones).
CREATE TABLE idempotency_keys (
    actor_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    request    TEXT NOT NULL,
    changed    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (actor_id, key)
);
