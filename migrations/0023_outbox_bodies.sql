-- An email's text and HTML move out of outbox into outbox_bodies. The mail
-- worker changes each outbox row twice (its claim, then what became of
-- it), and SQLite writes a changed row whole: with the bodies in it a row
-- was 1.4 KB, two or three to a page, so a batch of 25 rewrote a dozen
-- pages twice; without them it is a tenth of that, and the bodies are
-- written once, when the email is queued (docs/performance.md, W1).
CREATE TABLE outbox_bodies (
    outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL DEFAULT ''
);
INSERT INTO outbox_bodies (outbox_id, text_body, html_body) SELECT id, text_body, html_body FROM outbox;
ALTER TABLE outbox DROP COLUMN text_body;
ALTER TABLE outbox DROP COLUMN html_body;
