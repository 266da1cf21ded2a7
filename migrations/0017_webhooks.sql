-- Webhooks (SPEC 13) and the events feed's scope (SPEC 8).
--
-- An endpoint's secret is the Standard Webhooks signing key, base64, kept
-- as it is because every delivery is signed with it; it is shown to staff
-- once, when the endpoint is made, and never again.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY,
    url             TEXT NOT NULL,
    all_events      BOOLEAN NOT NULL DEFAULT TRUE,
    secret          TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    -- failing_since is the first failure since the last success (NULL while
    -- healthy): three days of it turn the endpoint off.
    failing_since   INTEGER,
    disabled_at     INTEGER,
    -- claimed_until is the lease of the one sender (of any process) that
    -- is sending to the endpoint, so deliveries stay in order and none goes
    -- out twice; a sender that died lets it lapse.
    claimed_until   INTEGER,
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL
);

-- The event kinds an endpoint chose; none (all_events) means every kind.
CREATE TABLE webhook_endpoint_events (
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL
);
CREATE UNIQUE INDEX webhook_endpoint_events_idx ON webhook_endpoint_events(endpoint_id, kind);

-- One row per event per endpoint, queued in the transaction of the change.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    INTEGER,
    created_at      INTEGER NOT NULL
);
-- The worker's question: each endpoint's oldest queued delivery.
CREATE INDEX webhook_deliveries_queued_idx ON webhook_deliveries(endpoint_id, event_id) WHERE status = 'queued';
-- The delivery log: an endpoint's newest deliveries.
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries(endpoint_id, id);

-- The feed shows a member the events of their own invitations: whose
-- inviter is kept beside the actor, so the scope is an indexed column.
ALTER TABLE events ADD COLUMN inviter_id INTEGER;
UPDATE events SET inviter_id = (SELECT inviter_id FROM invitations WHERE invitations.id = events.subject_id)
    WHERE subject_id IS NOT NULL;
CREATE INDEX events_inviter_idx ON events(inviter_id, id);
CREATE INDEX events_user_idx ON events(user_id, id);
