package models

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/beckon-app/beckon/models/pgtest"
)

// migratedUpTo opens a new database of engine e with the migrations before
// name applied, as a site that has not upgraded yet would have it.
func migratedUpTo(t *testing.T, e Engine, name string) *sql.DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "old.db")
	if e == Postgres {
		dsn = pgtest.Empty(t)
	}
	db, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	names, err := MigrationNames(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n >= name {
			break
		}
		if _, err := applyMigration(ctx, db, e, n); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// Migration 0021 moves the sent and accepted counts out of allocations:
// a site that upgrades keeps every member's counts, and the counting goes
// on in the new table.
func TestInvitationCountsMoveOutOfAllocations(t *testing.T) {
	for _, e := range []Engine{SQLite, Postgres} {
		t.Run(e.String(), func(t *testing.T) {
			db := migratedUpTo(t, e, "0021_invitation_counts.sql")
			ctx := context.Background()
			for _, q := range []string{
				`INSERT INTO users (id, email, email_key, username, password_hash, joined_at) VALUES
					(1, 'ann@x.com', 'ann@x.com', 'ann', 'h', 0), (2, 'bob@x.com', 'bob@x.com', 'bob', 'h', 0), (3, 'cy@x.com', 'cy@x.com', 'cy', 'h', 0)`,
				`INSERT INTO allocations (user_id, allocated, held) VALUES (1, 5, 3), (2, 1, 0), (3, 0, 0)`,
				`INSERT INTO invitations (inviter_id, email, email_key, created_at, sent_at, expires_at) VALUES
					(1, 'a@y.com', 'a@y.com', 0, 0, 9), (1, 'b@y.com', 'b@y.com', 0, 0, 9), (1, 'c@y.com', 'c@y.com', 0, 0, 9)`,
				`UPDATE allocations SET accepted = 2 WHERE user_id = 1`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if _, err := Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			counts := func() map[int64][2]int {
				rows, err := db.QueryContext(ctx, `SELECT user_id, sent, accepted FROM invitation_counts ORDER BY user_id`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				out := map[int64][2]int{}
				for rows.Next() {
					var id int64
					var sent, accepted int
					if err := rows.Scan(&id, &sent, &accepted); err != nil {
						t.Fatal(err)
					}
					out[id] = [2]int{sent, accepted}
				}
				return out
			}
			if got := counts(); len(got) != 1 || got[1] != [2]int{3, 2} {
				t.Fatalf("after the upgrade, counts %v; want ann's 3 sent and 2 accepted and no row for the others", got)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM allocations WHERE user_id = 1 AND allocated = 5 AND held = 3`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("ann's allocation after the upgrade: %d rows, %v", n, err)
			}
			if _, err := db.ExecContext(ctx, `SELECT sent FROM allocations`); err == nil {
				t.Fatal("allocations still has a sent column")
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO invitations (inviter_id, email, email_key, created_at, sent_at, expires_at) VALUES
				(1, 'd@y.com', 'd@y.com', 0, 0, 9), (2, 'e@y.com', 'e@y.com', 0, 0, 9)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `DELETE FROM invitations WHERE email_key = 'a@y.com'`); err != nil {
				t.Fatal(err)
			}
			if got := counts(); len(got) != 2 || got[1] != [2]int{3, 2} || got[2] != [2]int{1, 0} {
				t.Fatalf("after one more each and one deleted, counts %v; want ann 3 and 2, bob 1 and 0", got)
			}
		})
	}
}

// Migration 0023 moves the queued emails' bodies into outbox_bodies: an
// email queued before the upgrade is still delivered whole.
func TestOutboxBodiesMoveOutOfOutbox(t *testing.T) {
	for _, e := range []Engine{SQLite, Postgres} {
		t.Run(e.String(), func(t *testing.T) {
			db := migratedUpTo(t, e, "0023_outbox_bodies.sql")
			ctx := context.Background()
			if _, err := db.ExecContext(ctx, `INSERT INTO outbox (kind, to_addr, to_key, subject, text_body, html_body, next_attempt_at, created_at)
				VALUES ('confirm_email', 'ann@x.com', 'ann@x.com', 'Confirm', 'the text', '<p>the html</p>', 0, 0)`); err != nil {
				t.Fatal(err)
			}
			if _, err := Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			s := New(db, Options{})
			defer s.Close()
			due, err := s.Outbox.Due(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(due) != 1 || due[0].Email.Text != "the text" || due[0].Email.HTML != "<p>the html</p>" || due[0].Email.Subject != "Confirm" {
				t.Fatalf("due after the upgrade: %+v; want the email queued before it, bodies and all", due)
			}
			if _, err := db.ExecContext(ctx, `SELECT text_body FROM outbox`); err == nil {
				t.Fatal("outbox still has a text_body column")
			}
		})
	}
}
