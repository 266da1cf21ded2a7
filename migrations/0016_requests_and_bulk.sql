-- An invitation sent for an approved request is taken from nobody's
-- allocation (SPEC 12): holds_invitation is FALSE for it, so that neither
-- its end nor its acceptance changes its inviter's counts.
ALTER TABLE invitations ADD COLUMN holds_invitation BOOLEAN NOT NULL DEFAULT TRUE;

-- Requests for an invitation (SPEC 12). A request is unconfirmed until its
-- email's link is used, then open in the staff queue until approved or
-- declined; an unconfirmed one whose link ran out is lapsed, which lets the
-- address ask again. token_hash is that of the confirmation link, minted
-- when the email is delivered (NULL until then, and for ever for a request
-- about a member's address, which is sent nothing).
CREATE TABLE invite_requests (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL,
    email_key      TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'unconfirmed'
                   CHECK (status IN ('unconfirmed', 'open', 'approved', 'declined', 'lapsed')),
    token_hash     BLOB UNIQUE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    confirmed_at   INTEGER,
    decided_at     INTEGER,
    decided_by     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    decline_reason TEXT NOT NULL DEFAULT '',
    invitation_id  INTEGER REFERENCES invitations(id) ON DELETE SET NULL
);
-- One open request per address.
CREATE UNIQUE INDEX invite_requests_one_open_idx ON invite_requests(email_key) WHERE status IN ('unconfirmed', 'open');
CREATE INDEX invite_requests_status_idx ON invite_requests(status, id);

-- Bulk invitations (SPEC 12): a job and its rows, so that a restart in the
-- middle finishes the job. A row's outcome is NULL until it is done; it is
-- set in the transaction that creates its invitation, so no row is sent
-- twice.
CREATE TABLE bulk_jobs (
    id          INTEGER PRIMARY KEY,
    staff_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    total       INTEGER NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX bulk_jobs_staff_idx ON bulk_jobs(staff_id, id);
CREATE INDEX bulk_jobs_unfinished_idx ON bulk_jobs(id) WHERE finished_at IS NULL;

CREATE TABLE bulk_rows (
    job_id        INTEGER NOT NULL REFERENCES bulk_jobs(id) ON DELETE CASCADE,
    n             INTEGER NOT NULL,           -- the row's number in the list, from 1
    email         TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    outcome       TEXT,                       -- NULL until done
    message       TEXT NOT NULL DEFAULT '',
    invitation_id INTEGER REFERENCES invitations(id) ON DELETE SET NULL,
    PRIMARY KEY (job_id, n)
);
CREATE INDEX bulk_rows_todo_idx ON bulk_rows(job_id, n) WHERE outcome IS NULL;
