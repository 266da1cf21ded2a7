package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
)

// queuedKinds lists an endpoint's deliveries as event kinds, oldest first.
func queuedKinds(t *testing.T, e *env, id int64) []string {
	t.Helper()
	log, err := e.store.Webhooks.Deliveries(context.Background(), id, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(log) - 1; i >= 0; i-- {
		out = append(out, log[i].EventKind)
	}
	return out
}

func TestEventsQueueDeliveriesForTheEndpointsThatWantThem(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.user("staff@example.com", "staff", true)
	ann := e.user("ann@example.com", "ann", true)
	all, _, err := e.store.Webhooks.Create(ctx, staff.ID, "https://a.example/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	sent, _, _ := e.store.Webhooks.Create(ctx, staff.ID, "https://b.example/hook", []string{"invite_sent", "invite_sent"})
	alloc, _, _ := e.store.Webhooks.Create(ctx, staff.ID, "https://c.example/hook", []string{"allocation_changed"})

	if _, _, err := e.store.Invitations.CreateFrom(ctx, ann, "friend@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	// A refusal changes nothing that is an event, and queues nothing.
	if _, _, err := e.store.Invitations.CreateFrom(ctx, ann, "friend@example.com", "", 0); err == nil {
		t.Fatal("invited twice")
	}
	if _, err := e.store.Staff.TopOffAll(ctx, staff.ID, 5); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ep   models.WebhookEndpoint
		want []string
	}{
		{all, []string{"invite_sent", "allocation_changed"}},
		{sent, []string{"invite_sent"}},
		{alloc, []string{"allocation_changed"}},
	} {
		got := queuedKinds(t, e, c.ep.ID)
		if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) || (len(got) > 1 && got[1] != c.want[1]) {
			t.Errorf("%s: %v; want %v", c.ep.URL, got, c.want)
		}
	}
	ep, err := e.store.Webhooks.Get(ctx, sent.ID)
	if err != nil || len(ep.Events) != 1 || ep.Events[0] != "invite_sent" || !ep.Enabled {
		t.Errorf("Get: %+v, %v", ep, err)
	}
	if err := e.store.Webhooks.Delete(ctx, all.ID); err != nil {
		t.Fatal(err)
	}
	if got := queuedKinds(t, e, all.ID); len(got) != 0 {
		t.Errorf("a deleted endpoint keeps deliveries %v", got)
	}
	if err := e.store.Webhooks.Delete(ctx, all.ID); err != models.ErrNoRecord {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := e.store.Webhooks.SendTest(ctx, staff.ID, 999); err != models.ErrNoRecord {
		t.Errorf("testing an unknown endpoint: %v", err)
	}
}

func TestAFailingStreakTurnsAnEndpointOffAndASuccessEndsIt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ep, _, _ := e.store.Webhooks.Create(ctx, 0, "https://a.example/hook", nil)
	if _, err := e.store.Staff.TopOffAll(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	pending, err := e.store.Webhooks.Pending(ctx, ep.ID, 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %v, %v", pending, err)
	}
	fail := func() bool {
		off, err := e.store.Webhooks.RecordAttempts(ctx, ep.ID, []models.WebhookAttempt{
			{ID: pending[0].ID, Status: 500, Err: "the endpoint answered 500", RetryAt: e.clock.Now()}}, 72*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return off
	}
	fail()
	e.clock.Advance(71 * time.Hour)
	if fail() {
		t.Fatal("off after 71 hours")
	}
	// One success ends the streak: three more days are needed again.
	if _, err := e.store.Staff.TopOffAll(ctx, 0, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Webhooks.RecordAttempts(ctx, ep.ID, []models.WebhookAttempt{{ID: pending[0].ID, Status: 200}}, 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	pending, _ = e.store.Webhooks.Pending(ctx, ep.ID, 10)
	if len(pending) != 1 {
		t.Fatalf("pending after a success: %v", pending)
	}
	e.clock.Advance(2 * time.Hour)
	if fail() {
		t.Fatal("off 2 hours into a new streak")
	}
	e.clock.Advance(72 * time.Hour)
	if !fail() {
		t.Fatal("still on after 72 hours of a streak")
	}
	got, _ := e.store.Webhooks.Get(ctx, ep.ID)
	if got.Enabled || got.DisabledReason == "" || got.DisabledAt.IsZero() {
		t.Errorf("endpoint %+v", got)
	}
	if pending, _ := e.store.Webhooks.Pending(ctx, ep.ID, 10); len(pending) != 0 {
		t.Errorf("still queued: %v", pending)
	}
	if due, _ := e.store.Webhooks.DueEndpoints(ctx); len(due) != 0 {
		t.Errorf("due: %v", due)
	}
}

// Recording an event skips the fan-out while no endpoint is enabled; the
// check is read in the event's own transaction, not kept in memory, so an
// endpoint that another process (here a second Store on the same database)
// adds or turns off counts from its next event.
func TestEventsSeeEndpointsAnotherProcessChanged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.user("staff@example.com", "staff", true)
	ann := e.user("ann@example.com", "ann", true)
	other := models.New(e.db, models.Options{Argon: models.CheapArgon})
	if _, _, err := e.store.Invitations.CreateFrom(ctx, ann, "one@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	ep, _, err := other.Webhooks.Create(ctx, staff.ID, "https://a.example/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Invitations.CreateFrom(ctx, ann, "two@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	if got := queuedKinds(t, e, ep.ID); len(got) != 1 || got[0] != models.EventInviteSent {
		t.Fatalf("deliveries after the endpoint was added elsewhere: %v; want one invite_sent", got)
	}
	if _, err := e.db.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = FALSE WHERE id = ?`, ep.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Invitations.CreateFrom(ctx, ann, "three@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	if got := queuedKinds(t, e, ep.ID); len(got) != 1 {
		t.Errorf("a turned-off endpoint got deliveries: %v", got)
	}
}
