-- PostgreSQL twin of ../0023_outbox_bodies.sql (the reasons are there).
CREATE TABLE outbox_bodies (
    outbox_id BIGINT PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL DEFAULT ''
);
INSERT INTO outbox_bodies (outbox_id, text_body, html_body) SELECT id, text_body, html_body FROM outbox;
ALTER TABLE outbox DROP COLUMN text_body;
ALTER TABLE outbox DROP COLUMN html_body;
