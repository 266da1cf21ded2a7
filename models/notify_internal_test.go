package models

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// An email queued under a dedupe key is queued once, however often the code
// that queues it runs: twice in one write, or in a write run again.
func TestEnqueueOnceQueuesOnce(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "once.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	c := New(db, Options{}).Users.core
	e := Email{Kind: kindInviteeJoined, To: "ann@example.com", Subject: "bob joined", Text: "hello"}
	for i := 0; i < 2; i++ {
		err := c.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
			for j := 0; j < 2; j++ {
				_, queued, err := enqueueOnce(ctx, tx, ch, time.Now(), e, tokenNone, 0, dedupeKey("joined", 7))
				if err != nil {
					return err
				}
				if queued != (i == 0 && j == 0) {
					t.Errorf("run %d, call %d: queued %v", i, j, queued)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := c.db.QueryRow(`SELECT count(*) FROM outbox WHERE dedupe_key = 'joined:7'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d emails queued, %v; want 1", n, err)
	}
}
