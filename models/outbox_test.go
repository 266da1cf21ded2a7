package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
)

// On PostgreSQL a batch of emails whose transaction loses a race is split
// and its parts minted again, rather than the whole batch retried until the
// worker's budget runs out: every email of the batch still comes back
// once, with a token that opens its own invitation. The race here is an
// update to the batch's last invitation, committed while the batch waits
// for its row.
func TestMintTokensSplitsABatchThatLostARace(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.DefaultAllocation = 10 })
	if models.EngineOf(e.db) != models.Postgres {
		t.Skip("PostgreSQL only (SQLite's single writer has no race to lose): runs with BECKON_TEST_ENGINE=postgres")
	}
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	var ids []int64
	for _, to := range []string{"a@example.net", "b@example.net", "c@example.net", "d@example.net"} {
		inv, _, err := e.store.Invitations.Create(ctx, ann.ID, to, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	due, err := e.store.Outbox.Due(ctx, 10)
	if err != nil || len(due) != 4 {
		t.Fatalf("due: %d emails, %v; want the 4 invitations", len(due), err)
	}

	other, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.ExecContext(ctx, `UPDATE invitations SET label = 'changed' WHERE id = ?`, ids[3]); err != nil {
		t.Fatal(err)
	}
	type result struct {
		minted []models.MintedEmail
		err    error
	}
	done := make(chan result, 1)
	go func() {
		m, err := e.store.Outbox.MintTokens(ctx, due)
		done <- result{m, err}
	}()
	waitForLockWait(t, e)
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("MintTokens did not return")
	}
	if r.err != nil {
		t.Fatalf("MintTokens: %v", r.err)
	}
	if len(r.minted) != 4 {
		t.Fatalf("minted %d emails; want the batch's 4", len(r.minted))
	}
	seen := map[int64]bool{}
	for _, m := range r.minted {
		if seen[m.ID] {
			t.Fatalf("email %d minted twice", m.ID)
		}
		seen[m.ID] = true
		inv, err := e.store.Invitations.LookupToken(ctx, m.Token)
		if err != nil || inv.Email != m.Email.To {
			t.Errorf("the token minted for %s opens %q, %v", m.Email.To, inv.Email, err)
		}
	}
}

// waitForLockWait waits until some session of e's database waits for a
// row lock.
func waitForLockWait(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := e.db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no transaction came to wait for the locked invitation")
}

// The bodies of emails done with go a week after they were queued, the
// oldest first in batches, however many there are; a queued email keeps
// its body, and so does one done with for less than a week.
func TestOldEmailBodiesArePruned(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.InviteRate, o.RecipientRate = 0, 0 })
	ctx := context.Background()
	bodies := func() int {
		t.Helper()
		var n int
		if err := e.db.QueryRow(`SELECT count(*) FROM outbox_bodies`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	old := e.clock.Now().Unix()
	// One still queued from then, first of all (its next try is far off).
	if _, err := e.db.Exec(`INSERT INTO outbox (kind, to_addr, to_key, subject, next_attempt_at, created_at) VALUES ('invitation', 'q@example.com', 'q@example.com', 'hello', ?, ?)`,
		old+30*86400, old-1); err != nil {
		t.Fatal(err)
	}
	// 2,100 sent emails, more than two batches, written as the worker
	// leaves them.
	if _, err := e.db.Exec(`INSERT INTO outbox (kind, to_addr, to_key, subject, status, next_attempt_at, created_at, sent_at)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2100)
		SELECT 'invitation', 'x' || i || '@example.com', 'x' || i || '@example.com', 'hello', 'sent', ?, ?, ? FROM n`, old, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`INSERT INTO outbox_bodies (outbox_id, text_body, html_body) SELECT id, 'text', 'html' FROM outbox`); err != nil {
		t.Fatal(err)
	}
	// One invitation email queued then, and sent a week later.
	u := e.user("ann@example.com", "ann", true)
	if _, _, err := e.store.Invitations.Create(ctx, u.ID, "queued@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	if got := bodies(); got != 2102 {
		t.Fatalf("%d bodies; want 2,102", got)
	}
	if n, err := e.store.Outbox.PruneBodies(ctx); err != nil || n != 0 {
		t.Fatalf("pruned %d (%v) of emails queued just now; want none", n, err)
	}

	e.clock.Advance(models.BodyRetention + time.Second)
	// A week later: an email done with today keeps its body.
	if _, _, err := e.store.Invitations.Create(ctx, u.ID, "today@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	e.mint() // sends both invitation emails: the week-old one and today's
	if n, err := e.store.Outbox.PruneBodies(ctx); err != nil || n != 2101 {
		t.Fatalf("pruned %d (%v); want the 2,100 week-old sent emails and the week-old invitation", n, err)
	}
	if got := bodies(); got != 2 {
		t.Errorf("%d bodies left; want the queued one's and today's", got)
	}
	if n, err := e.store.Outbox.PruneBodies(ctx); err != nil || n != 0 {
		t.Errorf("a second run pruned %d (%v); want none", n, err)
	}
}
