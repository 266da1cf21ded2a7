package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/beckon-app/beckon/models"
)

func bulkRows(n int) []models.BulkRow {
	rows := make([]models.BulkRow, n)
	for i := range rows {
		rows[i] = models.BulkRow{Email: fmt.Sprintf("friend%03d@example.com", i)}
	}
	return rows
}

// checkSentOnce fails unless each of want addresses got exactly one
// invitation and one invitation email.
func checkSentOnce(t *testing.T, e *env, want int) {
	t.Helper()
	var addrs, invs, mails, dup int
	if err := e.db.QueryRow(`SELECT count(DISTINCT email_key), count(*) FROM invitations`).Scan(&addrs, &invs); err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(`SELECT count(*) FROM outbox WHERE kind = 'invitation'`).Scan(&mails); err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(`SELECT count(*) FROM (SELECT email_key FROM invitations GROUP BY email_key HAVING count(*) > 1) AS twice`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if addrs != want || invs != want || mails != want || dup != 0 {
		t.Errorf("got %d invitations to %d addresses, %d emails, %d addresses twice; want %d of each, none twice", invs, addrs, mails, dup, want)
	}
}

// A runner stopped in the middle of a job (its context cancelled after 40
// rows were sent) leaves the rest to a new runner over the same database,
// which finishes the job without sending any address twice.
func TestBulkRestartFinishesWithoutSendingTwice(t *testing.T) {
	unlimited := func(o *models.Options) { o.DefaultAllocation, o.InviteRate = -1, 0 }
	e := newEnv(t, unlimited)
	staff := e.user("staff@example.com", "staff", true)
	job, err := e.store.Bulk.Create(context.Background(), staff.ID, bulkRows(150))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	sent := 0
	unsub := e.store.Events.Subscribe(func(ev models.Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Kind == models.EventInviteSent {
			if sent++; sent == 40 {
				cancel()
			}
		}
	})
	if err := e.store.Bulk.Work(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("first runner: %v; want context.Canceled", err)
	}
	unsub()
	mid, err := e.store.Bulk.Get(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Done != 40 || mid.Finished() {
		t.Fatalf("after the stop: %d of %d done, finished %v; want 40, unfinished", mid.Done, mid.Total, mid.Finished())
	}

	// A new process: a store of its own over the same file.
	opts := models.Options{Now: e.clock.Now, Composer: composer{}, Argon: models.CheapArgon, DefaultAllocation: -1, RecipientRate: 3}
	again := models.New(e.db, opts)
	t.Cleanup(func() { again.Close() })
	if err := again.Bulk.Work(context.Background()); err != nil {
		t.Fatal(err)
	}
	end, err := again.Bulk.Get(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if end.Done != 150 || !end.Finished() {
		t.Errorf("after the restart: %d of 150 done, finished %v", end.Done, end.Finished())
	}
	rows, err := again.Bulk.Rows(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Outcome != models.OutcomeSent {
			t.Errorf("row %d (%s): %s %q; want sent", r.N, r.Email, r.Outcome, r.Message)
		}
	}
	checkSentOnce(t, e, 150)
}

// Two runners on one job at once (two processes sharing a database) send
// each address once.
func TestBulkRunnersRacingSendOnce(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.DefaultAllocation, o.InviteRate = -1, 0 })
	staff := e.user("staff@example.com", "staff", true)
	if _, err := e.store.Bulk.Create(context.Background(), staff.ID, bulkRows(120)); err != nil {
		t.Fatal(err)
	}
	other := models.New(e.db, models.Options{Now: e.clock.Now, Composer: composer{}, Argon: models.CheapArgon, DefaultAllocation: -1, RecipientRate: 3})
	t.Cleanup(func() { other.Close() })
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*models.Store{e.store, other} {
		wg.Go(func() { errs[i] = s.Bulk.Work(context.Background()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkSentOnce(t, e, 120)
}

// An invitation for an approved request holds nothing: neither sending it,
// nor its acceptance, nor its revocation changes the approver's allocation.
func TestRequestInvitationHoldsNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.user("staff@example.com", "staff", true)
	before, _ := e.store.Users.Allocation(ctx, staff.ID)
	if err := e.store.Requests.Ask(ctx, "asker@example.com", "I know Ann"); err != nil {
		t.Fatal(err)
	}
	links := e.mint()
	if len(links) != 1 {
		t.Fatalf("got %d emails; want 1", len(links))
	}
	if _, err := e.store.Requests.Confirm(ctx, tokenOf(links[0])); err != nil {
		t.Fatal(err)
	}
	q, _, err := e.store.Requests.Queue(ctx, 10)
	if err != nil || len(q) != 1 {
		t.Fatalf("queue %v, %v; want one request", q, err)
	}
	_, inv, err := e.store.Requests.Approve(ctx, staff, q[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := e.store.Users.Allocation(ctx, staff.ID); after != before {
		t.Errorf("allocation after approving: %+v; want %+v", after, before)
	}
	if _, err := e.store.Invitations.Revoke(ctx, staff.ID, inv.ID); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.store.Users.Allocation(ctx, staff.ID); after != before {
		t.Errorf("allocation after revoking: %+v; want %+v", after, before)
	}
	if _, _, err := e.store.Requests.Approve(ctx, staff, q[0].ID); !errors.Is(err, models.ErrRequestAnswered) {
		t.Errorf("approving twice: %v; want ErrRequestAnswered", err)
	}
}
