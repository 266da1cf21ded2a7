package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
)

func withReminder(d time.Duration) func(*models.Options) {
	return func(o *models.Options) { o.InviteReminder = d }
}

func remindDue(t *testing.T, e *env) int {
	t.Helper()
	n, err := e.store.Invitations.RemindDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// An invitation given no more than the reminder period to live gets no
// reminder (one of 24 hours, one of exactly 48); one given a little more gets it once its expiry is the period
// away; reminders are off with a zero period.
func TestReminderTimingAndShortInvitations(t *testing.T) {
	e := newEnv(t, withReminder(48*time.Hour))
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	short, _, err := e.store.Invitations.Create(ctx, ann.ID, "short@example.com", "", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "edge@example.com", "", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	long, _, err := e.store.Invitations.Create(ctx, ann.ID, "long@example.com", "", 49*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.mint()
	if n := remindDue(t, e); n != 0 {
		t.Fatalf("reminded %d at once", n)
	}
	e.clock.Advance(59 * time.Minute)
	if n := remindDue(t, e); n != 0 {
		t.Fatalf("reminded %d a minute early", n)
	}
	e.clock.Advance(time.Minute)
	if n := remindDue(t, e); n != 1 {
		t.Fatalf("reminded %d; want the 49-hour invitation", n)
	}
	for e.clock.Now().Before(short.ExpiresAt) {
		if n := remindDue(t, e); n != 0 {
			t.Fatalf("reminded %d more at %v", n, e.clock.Now())
		}
		e.clock.Advance(time.Hour)
	}
	if got, _ := e.store.Invitations.Get(ctx, short.ID); !got.RemindedAt.IsZero() {
		t.Error("the 24-hour invitation reads as reminded")
	}
	e.clock.Advance(24 * time.Hour)
	if n := remindDue(t, e); n != 0 {
		t.Errorf("reminded %d at the 48-hour invitation's expiry", n)
	}
	if got, _ := e.store.Invitations.Get(ctx, long.ID); !got.RemindedAt.Equal(long.CreatedAt.Add(time.Hour)) {
		t.Errorf("reminded at %v; want an hour after it was sent", got.RemindedAt)
	}

	off := newEnv(t)
	bea := off.user("bea@example.com", "bea", true)
	if _, _, err := off.store.Invitations.Create(ctx, bea.ID, "x@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	off.mint()
	off.clock.Advance(167 * time.Hour)
	if n := remindDue(t, off); n != 0 {
		t.Errorf("reminded %d with reminders off", n)
	}
}

// No reminder while the first email is unsent, and a reminder queued before
// a revoke is never delivered.
func TestReminderNeedsASentEmailAndAPendingInvitation(t *testing.T) {
	e := newEnv(t, withReminder(48*time.Hour))
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	inv, _, err := e.store.Invitations.Create(ctx, ann.ID, "bob@example.com", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(121 * time.Hour)
	if n := remindDue(t, e); n != 0 {
		t.Fatalf("reminded %d while the first email was still queued", n)
	}
	if links := e.mint(); len(links) != 1 {
		t.Fatalf("%d emails; want the invitation", len(links))
	}
	if n := remindDue(t, e); n != 1 {
		t.Fatalf("reminded %d once sent; want 1", n)
	}
	if _, err := e.store.Invitations.Revoke(ctx, ann.ID, inv.ID); err != nil {
		t.Fatal(err)
	}
	if links := e.mint(); len(links) != 0 {
		t.Errorf("the reminder of a revoked invitation went out: %v", links)
	}
}

// A resend after the reminder replaces both earlier links, and brings no
// second reminder.
func TestResendAfterReminderReplacesBothLinks(t *testing.T) {
	e := newEnv(t, withReminder(48*time.Hour))
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	inv, _, err := e.store.Invitations.Create(ctx, ann.ID, "bob@example.com", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	first := tokenOf(e.mint()[0])
	e.clock.Advance(120 * time.Hour)
	if n := remindDue(t, e); n != 1 {
		t.Fatalf("reminded %d", n)
	}
	second := tokenOf(e.mint()[0])
	for i, tok := range []string{first, second} {
		if _, err := e.store.Invitations.LookupToken(ctx, tok); err != nil {
			t.Errorf("link %d after the reminder: %v", i+1, err)
		}
	}
	if _, err := e.store.Invitations.Resend(ctx, ann.ID, inv.ID); err != nil {
		t.Fatal(err)
	}
	third := tokenOf(e.mint()[0])
	for i, tok := range []string{first, second} {
		if _, err := e.store.Invitations.LookupToken(ctx, tok); !errors.Is(err, models.ErrInvitationReplaced) {
			t.Errorf("link %d after the resend: %v; want replaced", i+1, err)
		}
	}
	if _, err := e.store.Invitations.LookupToken(ctx, third); err != nil {
		t.Errorf("the resent link: %v", err)
	}
	e.clock.Advance(121 * time.Hour)
	if n := remindDue(t, e); n != 0 {
		t.Errorf("reminded %d again after the resend", n)
	}
}
