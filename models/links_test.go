package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func withSecret(o *models.Options) { o.LinkSecret = testSecret }

func held(t *testing.T, e *env, id int64) models.Allocation {
	t.Helper()
	a, err := e.store.Users.Allocation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A link holds its uses from the start, and closing gives back the unused.
func TestLinkHoldsItsUsesAndClosingGivesThemBack(t *testing.T) {
	e := newEnv(t, withSecret, func(o *models.Options) { o.DefaultAllocation = 5 })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	l, alloc, err := e.store.Links.Create(ctx, ann, 3, 0, "  book club ")
	if err != nil {
		t.Fatal(err)
	}
	if alloc.Remaining() != 2 || held(t, e, ann.ID).Held != 3 {
		t.Errorf("after create: remaining %d held %d; want 2 and 3", alloc.Remaining(), held(t, e, ann.ID).Held)
	}
	if len(l.Token) != 43 || l.Label != "book club" || l.UsesLeft() != 3 || !l.ExpiresAt.Equal(e.clock.Now().Add(168*time.Hour)) {
		t.Errorf("link %+v", l)
	}
	if _, _, err := e.store.Links.Create(ctx, ann, 3, 0, ""); !errors.Is(err, models.ErrLinkNoneLeft) {
		t.Errorf("a link of 3 with 2 left: %v; want ErrLinkNoneLeft", err)
	}
	if _, _, err := e.store.Links.Join(ctx, l.Token, models.NewUser{Email: "bob@example.com", Username: "bob", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	checkCounters(t, e)
	other := e.user("cid@example.com", "cid", true)
	if _, _, err := e.store.Links.Close(ctx, other.ID, l.ID); !errors.Is(err, models.ErrNoRecord) {
		t.Errorf("closing another's link: %v; want ErrNoRecord", err)
	}
	closed, alloc, err := e.store.Links.Close(ctx, ann.ID, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.Held != 1 || alloc.Accepted != 1 || alloc.Remaining() != 4 || closed.Status != models.LinkClosed || len(closed.Joined) != 1 {
		t.Errorf("after close: %+v, link %+v", alloc, closed)
	}
	if _, _, err := e.store.Links.Close(ctx, ann.ID, l.ID); !errors.Is(err, models.ErrLinkNotOpen) {
		t.Errorf("closing twice: %v; want ErrLinkNotOpen", err)
	}
	if _, err := e.store.Links.LookupToken(ctx, l.Token); !errors.Is(err, models.ErrLinkClosed) {
		t.Errorf("closed link: %v; want ErrLinkClosed", err)
	}
	checkCounters(t, e)
}

// Many at once through one link: exactly its uses join, and the counters
// agree with the invitations.
func TestLinkAdmitsExactlyItsUsesUnderConcurrency(t *testing.T) {
	e := newEnv(t, withSecret)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	l, _, err := e.store.Links.Create(ctx, ann, 3, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	joined, usedUp := 0, 0
	for i := range 20 {
		wg.Go(func() {
			_, _, err := e.store.Links.Join(ctx, l.Token, models.NewUser{Email: fmt.Sprintf("p%d@example.com", i), Username: fmt.Sprintf("p%d", i), Password: "password123"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				joined++
			case errors.Is(err, models.ErrLinkUsedUp):
				usedUp++
			default:
				t.Errorf("join: %v", err)
			}
		})
	}
	wg.Wait()
	if joined != 3 || usedUp != 17 {
		t.Errorf("joined %d, used up %d; want 3 and 17", joined, usedUp)
	}
	a := held(t, e, ann.ID)
	if a.Held != 3 || a.Accepted != 3 {
		t.Errorf("allocation %+v; want 3 held, 3 accepted", a)
	}
	checkCounters(t, e)
	got, err := e.store.Links.Get(ctx, ann.ID, l.ID)
	if err != nil || got.Status != models.LinkUsed || got.Token != "" || len(got.Joined) != 3 {
		t.Errorf("used-up link %+v %v", got, err)
	}
}

// The sweep closes an expired link as expired and gives back its unused.
func TestSweepExpiresLinks(t *testing.T) {
	e := newEnv(t, withSecret)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	l, _, err := e.store.Links.Create(ctx, ann, 2, 2*time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	var closedEvents int
	defer e.store.Events.Subscribe(func(ev models.Event) {
		if ev.Kind == models.EventLinkClosed {
			closedEvents++
		}
	})()
	e.clock.Advance(2 * time.Hour)
	if _, err := e.store.Links.LookupToken(ctx, l.Token); !errors.Is(err, models.ErrLinkExpired) {
		t.Errorf("overdue link: %v; want ErrLinkExpired", err)
	}
	if _, _, err := e.store.Links.Join(ctx, l.Token, models.NewUser{Email: "bob@example.com", Username: "bob", Password: "password123"}); !errors.Is(err, models.ErrLinkExpired) {
		t.Errorf("join through an overdue link: %v", err)
	}
	if held(t, e, ann.ID).Held != 2 {
		t.Fatal("held before the sweep")
	}
	if _, err := e.store.Invitations.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if a := held(t, e, ann.ID); a.Held != 0 || closedEvents != 1 {
		t.Errorf("after the sweep: %+v, %d link_closed events", a, closedEvents)
	}
	got, _ := e.store.Links.Get(ctx, ann.ID, l.ID)
	if got.Status != models.LinkExpired {
		t.Errorf("status %q", got.Status)
	}
	checkCounters(t, e)
}

// The token is derived from the secret: under another secret the old
// tokens are unknown, and the database holds only their hashes.
func TestLinkTokensNeedTheSecret(t *testing.T) {
	e := newEnv(t, withSecret)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	l, _, err := e.store.Links.Create(ctx, ann, 1, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.store.Links.List(ctx, ann.ID)
	if err != nil || len(list) != 1 || list[0].Token != l.Token {
		t.Fatalf("list %+v %v", list, err)
	}
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM links WHERE token_hash = ? OR CAST(nonce AS TEXT) = ? OR label = ?`, l.Token, l.Token, l.Token).Scan(&n); err != nil || n != 0 {
		t.Errorf("the raw token is in the database (%d, %v)", n, err)
	}
	other := models.New(e.db, models.Options{Now: e.clock.Now, Composer: composer{}, Argon: models.CheapArgon, LinkSecret: []byte("another secret of thirty-two byte")})
	if _, err := other.Links.LookupToken(ctx, l.Token); !errors.Is(err, models.ErrTokenUnknown) {
		t.Errorf("under another secret: %v; want ErrTokenUnknown", err)
	}
	if list, _ := other.Links.List(ctx, ann.ID); len(list) != 1 || list[0].Token != "" {
		t.Errorf("under another secret the list shows a token: %+v", list)
	}
	if _, err := e.store.Links.LookupToken(ctx, l.Token); err != nil {
		t.Errorf("under the secret: %v", err)
	}
}

// A taken address or username is refused and uses nothing of the link; the
// joiner's address is unverified until confirmed.
func TestLinkJoinRefusalsUseNothing(t *testing.T) {
	e := newEnv(t, withSecret)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	l, _, err := e.store.Links.Create(ctx, ann, 1, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Links.Join(ctx, l.Token, models.NewUser{Email: "ANN@example.com", Username: "ann2", Password: "password123"}); !errors.Is(err, models.ErrDuplicateEmail) {
		t.Errorf("taken address: %v", err)
	}
	if _, _, err := e.store.Links.Join(ctx, l.Token, models.NewUser{Email: "x@example.com", Username: "ann", Password: "password123"}); !errors.Is(err, models.ErrDuplicateUsername) {
		t.Errorf("taken username: %v", err)
	}
	u, got, err := e.store.Links.Join(ctx, l.Token, models.NewUser{Email: "bob@example.com", Username: "bob", Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Verified() || u.InvitedBy != ann.ID || got.Used != 1 || got.Status != models.LinkUsed {
		t.Errorf("joiner %+v, link %+v", u, got)
	}
}

// closeLinksOf, for suspensions, closes every open link of the member.
func TestCloseLinksOf(t *testing.T) {
	e := newEnv(t, withSecret)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	for range 2 {
		if _, _, err := e.store.Links.Create(ctx, ann, 1, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := models.CloseLinksOf(e.store, ann.ID); err != nil || n != 2 {
		t.Fatalf("closed %d, %v", n, err)
	}
	if a := held(t, e, ann.ID); a.Held != 0 {
		t.Errorf("held %d after closing", a.Held)
	}
}

// Suspending a member, alone or with their subtree, closes their open links
// and gives back the unused invitations; the links then say they closed.
func TestSuspensionClosesLinks(t *testing.T) {
	e := newEnv(t, withSecret)
	ctx := context.Background()
	boss, err := e.store.Users.Create(ctx, models.NewUser{Email: "boss@example.com", Username: "boss", Password: "password123", Staff: true, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	ann := e.user("ann@example.com", "ann", true)
	l, _, err := e.store.Links.Create(ctx, ann, 2, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := e.store.Links.Join(ctx, l.Token, models.NewUser{Email: "bob@example.com", Username: "bob", Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := e.store.Users.Get(ctx, u.ID)
	bobLink, _, err := e.store.Links.Create(ctx, models.User{ID: bob.ID, VerifiedAt: e.clock.Now()}, 1, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Staff.Suspend(ctx, boss.ID, ann.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Links.LookupToken(ctx, l.Token); !errors.Is(err, models.ErrLinkClosed) {
		t.Errorf("suspended member's link: %v; want ErrLinkClosed", err)
	}
	if a := held(t, e, ann.ID); a.Held != 1 || a.Accepted != 1 {
		t.Errorf("ann's allocation %+v; want the unused use back", a)
	}
	if _, err := e.store.Links.LookupToken(ctx, bobLink.Token); err != nil {
		t.Errorf("bob's link closed by ann's suspension: %v", err)
	}
	if _, err := e.store.Staff.SuspendSubtree(ctx, boss.ID, ann.ID, "spam ring"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Links.LookupToken(ctx, bobLink.Token); !errors.Is(err, models.ErrLinkClosed) {
		t.Errorf("subtree member's link: %v; want ErrLinkClosed", err)
	}
	checkCounters(t, e)
}

// User.Sent counts every invitation a member sent, emailed or made by a
// join through their link, nothing they were refused, and follows a row
// deleted by hand.
func TestSentCountsEmailedAndLinkInvitations(t *testing.T) {
	e := newEnv(t, withSecret, func(o *models.Options) { o.DefaultAllocation = 5 })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	for _, to := range []string{"cid@example.com", "dee@example.com"} {
		if _, _, err := e.store.Invitations.CreateFrom(ctx, ann, to, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.store.Invitations.CreateFrom(ctx, ann, "cid@example.com", "", 0); !errors.Is(err, models.ErrAlreadyInvited) {
		t.Fatalf("a second invitation to cid: %v; want ErrAlreadyInvited", err)
	}
	l, _, err := e.store.Links.Create(ctx, ann, 2, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Links.Join(ctx, l.Token, models.NewUser{Email: "bob@example.com", Username: "bob", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	u, _, err := e.store.Users.GetWithStanding(ctx, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	var counted int
	if err := e.db.QueryRow(`SELECT count(*) FROM invitations WHERE inviter_id = ?`, ann.ID).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if u.Sent != 3 || counted != 3 {
		t.Errorf("Sent = %d, counted %d; want 3 (two emailed, one through the link)", u.Sent, counted)
	}
	if got, err := e.store.Users.Get(ctx, ann.ID); err != nil || got.Sent != 3 {
		t.Errorf("Get: Sent = %d, %v; want 3", got.Sent, err)
	}
	if _, err := e.db.Exec(`DELETE FROM invitations WHERE inviter_id = ? AND email_key = ?`, ann.ID, "dee@example.com"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.Users.Get(ctx, ann.ID); err != nil || got.Sent != 2 {
		t.Errorf("after a delete: Sent = %d, %v; want 2", got.Sent, err)
	}
}
