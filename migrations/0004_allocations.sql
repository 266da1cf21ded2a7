-- Allocations move out of users into a narrow table of their own. A staff
-- bulk change rewrites every row it touches; at four small integers a row
-- (instead of a whole user with email, name and password hash) a change to a
-- million users writes a few megabytes instead of hundreds.
CREATE TABLE allocations (
    user_id   INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    allocated INTEGER NOT NULL DEFAULT 0 CHECK (allocated >= 0),
    unlimited INTEGER NOT NULL DEFAULT 0 CHECK (unlimited IN (0, 1)),
    held      INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),     -- pending and accepted invitations
    accepted  INTEGER NOT NULL DEFAULT 0 CHECK (accepted >= 0)
);
INSERT INTO allocations (user_id, allocated, unlimited, held, accepted)
    SELECT id, invites_allocated, invites_unlimited, invites_held, invites_accepted FROM users;
ALTER TABLE users DROP COLUMN invites_allocated;
ALTER TABLE users DROP COLUMN invites_unlimited;
ALTER TABLE users DROP COLUMN invites_held;
ALTER TABLE users DROP COLUMN invites_accepted;
