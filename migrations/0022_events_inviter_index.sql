-- The member feed's second index holds only the events a member's
-- invitation had from someone else (a friend joined, declined, bounced):
-- an event the inviter made themselves (every invitation sent) is found by
-- the feed's other side, events_user_idx. Keyed by inviter beside the
-- actor, each invitation's invite_sent event went into two indexes with
-- the same key, one page more per member in every group commit of a burst
-- of invitations (docs/performance.md, W1).
DROP INDEX events_inviter_idx;
CREATE INDEX events_inviter_idx ON events(inviter_id, id) WHERE inviter_id IS DISTINCT FROM user_id;
