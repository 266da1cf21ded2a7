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

// checkCounters asserts that every user's held, accepted and sent counters
// agree with their invitations and the unused uses of their open links. (A limited user may hold more than allocated only
// when staff lowered the allocation; the concurrency tests check that
// sending never gets there.)
func checkCounters(t *testing.T, e *env) {
	t.Helper()
	rows, err := e.db.Query(`SELECT u.username, a.allocated, a.unlimited, a.held, coalesce(c.accepted, 0), coalesce(c.sent, 0),
		(SELECT count(*) FROM invitations i WHERE i.inviter_id = u.id AND i.status IN ('pending', 'accepted'))
			+ (SELECT coalesce(sum(l.uses - l.used), 0) FROM links l WHERE l.creator_id = u.id AND l.status = 'open'),
		(SELECT count(*) FROM invitations i WHERE i.inviter_id = u.id AND i.status = 'accepted'),
		(SELECT count(*) FROM invitations i WHERE i.inviter_id = u.id)
		FROM users u JOIN allocations a ON a.user_id = u.id LEFT JOIN invitation_counts c ON c.user_id = u.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var allocated, held, accepted, sent, realHeld, realAccepted, realSent int
		var unlimited bool
		if err := rows.Scan(&name, &allocated, &unlimited, &held, &accepted, &sent, &realHeld, &realAccepted, &realSent); err != nil {
			t.Fatal(err)
		}
		if held != realHeld || accepted != realAccepted || sent != realSent {
			t.Errorf("@%s: held %d accepted %d sent %d; invitations say %d, %d and %d", name, held, accepted, sent, realHeld, realAccepted, realSent)
		}
	}
}

func TestLastInvitationUnderConcurrency(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.DefaultAllocation = 1; o.InviteRate = 0; o.RecipientRate = 0 })
	ann := e.user("ann@example.com", "ann", true)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent, none := 0, 0
	for i := range 50 {
		wg.Go(func() {
			_, _, err := e.store.Invitations.Create(context.Background(), ann.ID, fmt.Sprintf("friend%d@example.com", i), "", 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				sent++
			case errors.Is(err, models.ErrNoInvitesLeft):
				none++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	wg.Wait()
	if sent != 1 || none != 49 {
		t.Errorf("sent %d, refused %d; want 1 and 49", sent, none)
	}
	a, _ := e.store.Users.Allocation(context.Background(), ann.ID)
	if a.Held != 1 || a.Remaining() != 0 {
		t.Errorf("allocation %+v; want held 1, remaining 0", a)
	}
	checkCounters(t, e)
}

func TestOneLinkOneMemberUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "Bob@Example.com", "hi", 0); err != nil {
		t.Fatal(err)
	}
	token := tokenOf(e.mint()[0])
	var wg sync.WaitGroup
	var mu sync.Mutex
	var joined []models.User
	for i := range 20 {
		wg.Go(func() {
			u, _, err := e.store.Invitations.Join(ctx, token, models.NewUser{
				Email: "bob@example.com", Username: fmt.Sprintf("bob%d", i), Password: "password123"})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				joined = append(joined, u)
			} else if !errors.Is(err, models.ErrInvitationUsed) && !errors.Is(err, models.ErrDuplicateEmail) {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	wg.Wait()
	if len(joined) != 1 {
		t.Fatalf("%d members joined through one link; want 1", len(joined))
	}
	var members int
	e.db.QueryRow(`SELECT count(*) FROM users`).Scan(&members)
	if members != 2 {
		t.Errorf("%d users; want 2", members)
	}
	bob := joined[0]
	if !bob.Verified() || bob.InvitedBy != ann.ID {
		t.Errorf("bob = %+v; want verified and invited by ann", bob)
	}
	a, _ := e.store.Users.Allocation(ctx, ann.ID)
	if a.Held != 1 || a.Accepted != 1 || a.Remaining() != 2 {
		t.Errorf("ann's allocation %+v; want held 1, accepted 1, remaining 2", a)
	}
	if _, err := e.store.Invitations.LookupToken(ctx, token); !errors.Is(err, models.ErrInvitationUsed) {
		t.Errorf("used link: %v; want ErrInvitationUsed", err)
	}
	checkCounters(t, e)
}

func TestInvitationChecksInOrder(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.DefaultAllocation = 2 })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	unverified := e.user("una@example.com", "una", false)
	e.user("Member@Example.com", "member", true)

	if _, _, err := e.store.Invitations.Create(ctx, unverified.ID, "x@example.com", "", 0); err != models.ErrNotVerified {
		t.Errorf("unverified inviter: %v", err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, " MEMBER@example.COM ", "", 0); err != models.ErrAlreadyMember {
		t.Errorf("member, other case: %v", err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "Friend@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "friend@EXAMPLE.com", "", 0); err != models.ErrAlreadyInvited {
		t.Errorf("second invitation, other case: %v", err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "two@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "three@example.com", "", 0); err != models.ErrNoInvitesLeft {
		t.Errorf("third of two: %v", err)
	}
	checkCounters(t, e)
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.DefaultAllocation = -1; o.InviteRate = 3; o.RecipientRate = 2 })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	bea := e.user("bea@example.com", "bea", true)
	cid := e.user("cid@example.com", "cid", true)
	for i := range 3 {
		if _, _, err := e.store.Invitations.Create(ctx, ann.ID, fmt.Sprintf("f%d@example.com", i), "", 0); err != nil {
			t.Fatal(err)
		}
	}
	var rl *models.RateLimitError
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "f9@example.com", "", 0); !errors.As(err, &rl) || rl.RetryAfter < 1 {
		t.Fatalf("fourth in an hour, unlimited user: %v", err)
	}
	e.clock.Advance(time.Hour)
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "f9@example.com", "", 0); err != nil {
		t.Errorf("an hour later: %v", err)
	}
	// Per recipient, across inviters: f0 already got one from ann.
	if _, _, err := e.store.Invitations.Create(ctx, bea.ID, "F0@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, cid.ID, "f0@example.com", "", 0); !errors.As(err, &rl) {
		t.Errorf("third email to one address in a day: %v", err)
	}
	checkCounters(t, e)
}

func TestResendReplacesLinkAndRevokeGivesBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	inv, _, err := e.store.Invitations.Create(ctx, ann.ID, "bob@example.com", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	first := tokenOf(e.mint()[0])
	if _, err := e.store.Invitations.Resend(ctx, ann.ID, inv.ID); err != nil {
		t.Fatalf("first resend: %v", err)
	}
	second := tokenOf(e.mint()[0])
	assertNoRawToken(t, e.db, first)
	assertNoRawToken(t, e.db, second)
	if _, err := e.store.Invitations.LookupToken(ctx, first); !errors.Is(err, models.ErrInvitationReplaced) {
		t.Errorf("old link: %v; want ErrInvitationReplaced", err)
	}
	if _, err := e.store.Invitations.LookupToken(ctx, second); err != nil {
		t.Errorf("new link: %v", err)
	}
	var rl *models.RateLimitError
	if _, err := e.store.Invitations.Resend(ctx, ann.ID, inv.ID); !errors.As(err, &rl) {
		t.Errorf("second resend at once: %v; want a rate limit", err)
	}
	e.clock.Advance(10 * time.Minute)
	bea := e.user("bea@example.com", "bea", true)
	if _, err := e.store.Invitations.Resend(ctx, bea.ID, inv.ID); err != models.ErrNoRecord {
		t.Errorf("someone else's resend: %v; want ErrNoRecord", err)
	}
	if _, err := e.store.Invitations.Resend(ctx, ann.ID, inv.ID); err != nil {
		t.Errorf("resend after 10 minutes: %v", err)
	}
	if _, err := e.store.Invitations.Revoke(ctx, bea.ID, inv.ID); err != models.ErrNoRecord {
		t.Errorf("someone else's revoke: %v", err)
	}
	got, err := e.store.Invitations.Revoke(ctx, ann.ID, inv.ID)
	if err != nil || got.Status != models.StatusRevoked {
		t.Fatalf("revoke: %v %q", err, got.Status)
	}
	if _, err := e.store.Invitations.Revoke(ctx, ann.ID, inv.ID); err != models.ErrNotPending {
		t.Errorf("revoke twice: %v", err)
	}
	a, _ := e.store.Users.Allocation(ctx, ann.ID)
	if a.Held != 0 || a.Remaining() != 3 {
		t.Errorf("after revoke %+v; want all 3 back", a)
	}
	// The email queued by the last resend is pointless now: cancelled, not sent.
	if links := e.mint(); len(links) != 0 {
		t.Errorf("an email for a revoked invitation was sent: %v", links)
	}
	if _, err := e.store.Invitations.LookupToken(ctx, second); !errors.Is(err, models.ErrInvitationReplaced) && !errors.Is(err, models.ErrInvitationRevoked) {
		t.Errorf("link of a revoked invitation: %v", err)
	}
	checkCounters(t, e)
}

func TestExpiryReadsAtOnceAndSweepGivesBack(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.InviteExpiry = 48 * time.Hour })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	var events []models.Event
	e.store.Events.Subscribe(func(ev models.Event) { events = append(events, ev) })
	inv, _, err := e.store.Invitations.Create(ctx, ann.ID, "bob@example.com", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	token := tokenOf(e.mint()[0])
	e.clock.Advance(48 * time.Hour)
	got, _ := e.store.Invitations.Get(ctx, inv.ID)
	if got.Status != models.StatusExpired {
		t.Errorf("status past expiry = %q; want expired at once", got.Status)
	}
	if _, err := e.store.Invitations.LookupToken(ctx, token); !errors.Is(err, models.ErrInvitationExpired) {
		t.Errorf("expired link: %v", err)
	}
	n, err := e.store.Invitations.ExpireDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want 1", n, err)
	}
	if n, _ := e.store.Invitations.ExpireDue(ctx); n != 0 {
		t.Errorf("second sweep expired %d", n)
	}
	a, _ := e.store.Users.Allocation(ctx, ann.ID)
	if a.Held != 0 {
		t.Errorf("held %d after the sweep; want 0", a.Held)
	}
	// Re-inviting after an expiry is allowed.
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "bob@example.com", "", 0); err != nil {
		t.Errorf("re-invite after expiry: %v", err)
	}
	kinds := []string{}
	for _, ev := range events {
		kinds = append(kinds, ev.Kind)
	}
	if fmt.Sprint(kinds) != "[invite_sent invitation_expired invite_sent]" {
		t.Errorf("events %v", kinds)
	}
	checkCounters(t, e)
}

func TestJoinedIndependently(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	bea := e.user("bea@example.com", "bea", true)
	var got []models.Event
	e.store.Events.Subscribe(func(ev models.Event) {
		if ev.Kind == models.EventJoinedIndependently {
			got = append(got, ev)
		}
	})
	annInv, _, _ := e.store.Invitations.Create(ctx, ann.ID, "Carl@example.com", "", 0)
	beaInv, _, _ := e.store.Invitations.Create(ctx, bea.ID, "carl@EXAMPLE.com", "", 0)
	links := e.mint()
	// Carl joins through ann's link: bea's invitation ends as joined independently.
	carl, _, err := e.store.Invitations.Join(ctx, tokenOf(links[0]), models.NewUser{Email: "CARL@example.com", Username: "carl", Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.store.Invitations.Get(ctx, annInv.ID)
	b, _ := e.store.Invitations.Get(ctx, beaInv.ID)
	if a.Status != models.StatusAccepted || b.Status != models.StatusJoinedIndependently || b.InviteeID != carl.ID {
		t.Errorf("ann's %q, bea's %q (invitee %d); want accepted and joined_independently with carl", a.Status, b.Status, b.InviteeID)
	}
	if len(got) != 1 || got[0].Invitation.ID != beaInv.ID {
		t.Errorf("joined_independently events %+v", got)
	}
	if alloc, _ := e.store.Users.Allocation(ctx, bea.ID); alloc.Held != 0 {
		t.Errorf("bea still holds %d", alloc.Held)
	}

	e.mint() // ann's email that carl joined

	// Dan is invited by ann and (at another address) by bea; he joins through
	// ann's link with bea's address, which stays unproven until he confirms it.
	e.store.Invitations.Create(ctx, ann.ID, "dan@example.com", "", 0)
	e.store.Invitations.Create(ctx, bea.ID, "Daniel@example.com", "", 0)
	links = e.mint()
	dan, _, err := e.store.Invitations.Join(ctx, tokenOf(links[0]), models.NewUser{Email: "daniel@example.com", Username: "dan", Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	if dan.Verified() {
		t.Error("a changed address counts as verified")
	}
	if list, _, _ := e.store.Invitations.List(ctx, models.ListFilter{InviterID: bea.ID, Status: models.StatusPending}); len(list) != 1 {
		t.Errorf("bea's invitation to daniel ended before the address was proven")
	}
	links = e.mint() // dan's confirmation
	var confirm string
	for _, l := range links {
		if len(l) > 15 && l[:15] == "/confirm-email/" {
			confirm = tokenOf(l)
		}
	}
	if _, err := e.store.Users.ConfirmEmail(ctx, confirm); err != nil {
		t.Fatal(err)
	}
	list, _, _ := e.store.Invitations.List(ctx, models.ListFilter{InviterID: bea.ID, Status: models.StatusJoinedIndependently})
	if len(list) != 2 {
		t.Errorf("bea has %d joined-independently invitations; want 2 (carl and daniel)", len(list))
	}
	checkCounters(t, e)
}

func TestUnlimitedDefaultAllocation(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.DefaultAllocation = -1; o.InviteRate = 0; o.RecipientRate = 0 })
	ann := e.user("ann@example.com", "ann", true)
	if !ann.Allocation.Unlimited || ann.Allocation.Allocated != 0 {
		t.Errorf("allocation %+v; want unlimited flag, not -1", ann.Allocation)
	}
	for i := range 25 {
		if _, _, err := e.store.Invitations.Create(context.Background(), ann.ID, fmt.Sprintf("f%d@example.com", i), "", 0); err != nil {
			t.Fatal(err)
		}
	}
	checkCounters(t, e)
}

// The per-inviter limit is a sliding hour: Retry-After says when the oldest
// invitation of the hour leaves it, and then exactly one more may go.
func TestInviterRateLimitSlides(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.DefaultAllocation = -1; o.InviteRate = 3; o.RecipientRate = 0 })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	send := func(to string) error {
		_, _, err := e.store.Invitations.Create(ctx, ann.ID, to, "", 0)
		return err
	}
	for i := range 3 { // at 0, 20 and 40 minutes
		if err := send(fmt.Sprintf("f%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(20 * time.Minute)
	}
	e.clock.Advance(-10 * time.Minute) // 50 minutes in
	var rl *models.RateLimitError
	if err := send("g@example.com"); !errors.As(err, &rl) {
		t.Fatalf("fourth within the hour: %v", err)
	}
	if rl.RetryAfter < 10*60 || rl.RetryAfter > 10*60+1 {
		t.Errorf("Retry-After %d s; want about 600 (the first leaves the hour in 10 minutes)", rl.RetryAfter)
	}
	if want := "You have sent or tried 3 invitations in the last hour. Try again later."; rl.Reason != want {
		t.Errorf("reason %q; want %q", rl.Reason, want)
	}
	e.clock.Advance(10*time.Minute + time.Second)
	if err := send("g@example.com"); err != nil {
		t.Fatalf("after the first left the hour: %v", err)
	}
	if err := send("h@example.com"); !errors.As(err, &rl) {
		t.Fatalf("one more right after: %v", err)
	}
	if rl.RetryAfter < 19*60 || rl.RetryAfter > 20*60 {
		t.Errorf("Retry-After %d s; want just under 20 minutes (the one sent at 20 minutes)", rl.RetryAfter)
	}
}
