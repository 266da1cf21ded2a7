package models

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// TestWebhooksOnBothEngines runs the webhook and feed queries, record's
// fan-out included, on SQLite and PostgreSQL alike.
func TestWebhooksOnBothEngines(t *testing.T) {
	for _, e := range []Engine{SQLite, Postgres} {
		t.Run(e.String(), func(t *testing.T) {
			s := storeOn(t, e)
			defer s.Close()
			ctx := context.Background()
			db := s.DB
			var staffID, annID int64
			if err := db.QueryRow(`INSERT INTO users (email, email_key, username, password_hash, is_staff, joined_at)
				VALUES ('s@example.com', 's@example.com', 'staff', 'x', TRUE, 1) RETURNING id`).Scan(&staffID); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(`INSERT INTO users (email, email_key, username, password_hash, joined_at)
				VALUES ('a@example.com', 'a@example.com', 'ann', 'x', 1) RETURNING id`).Scan(&annID); err != nil {
				t.Fatal(err)
			}
			all, _, err := s.Webhooks.Create(ctx, staffID, "https://a.example/hook", nil)
			if err != nil {
				t.Fatal(err)
			}
			some, _, err := s.Webhooks.Create(ctx, staffID, "https://b.example/hook", []string{"password_set", "invite_sent"})
			if err != nil {
				t.Fatal(err)
			}
			emit := func(ev Event) {
				t.Helper()
				if err := s.core.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
					return record(ctx, tx, ch, ev)
				}); err != nil {
					t.Fatal(err)
				}
			}
			emit(Event{Kind: EventAllocationChanged, UserID: staffID, At: time.Now()})
			emit(Event{Kind: EventInviteSent, UserID: annID, At: time.Now(), Invitation: &Invitation{InviterID: annID, Email: "f@example.com"}})
			if _, err := s.Webhooks.SendTest(ctx, staffID, some.ID); err != nil {
				t.Fatal(err)
			}
			eps, err := s.Webhooks.List(ctx)
			if err != nil || len(eps) != 2 || len(eps[1].Events) != 2 || eps[1].Events[0] != "invite_sent" {
				t.Fatalf("list %+v, %v", eps, err)
			}
			due, err := s.Webhooks.DueEndpoints(ctx)
			if err != nil || len(due) != 2 {
				t.Fatalf("due %v, %v", due, err)
			}
			pending, err := s.Webhooks.Pending(ctx, all.ID, 10)
			if err != nil || len(pending) != 2 || pending[0].Event.Kind != EventAllocationChanged || pending[1].Event.Kind != EventInviteSent {
				t.Fatalf("pending %+v, %v", pending, err)
			}
			if p, _ := s.Webhooks.Pending(ctx, some.ID, 10); len(p) != 2 || p[1].Event.Kind != EventWebhookTest {
				t.Fatalf("the other endpoint's pending %+v", p)
			}
			if off, err := s.Webhooks.RecordAttempts(ctx, all.ID, []WebhookAttempt{
				{ID: pending[0].ID, Status: 200}, {ID: pending[1].ID, Status: 500, Err: "500", RetryAt: time.Now()}}, time.Hour); err != nil || off {
				t.Fatalf("record: %v, %v", off, err)
			}
			if off, err := s.Webhooks.RecordAttempts(ctx, all.ID, []WebhookAttempt{
				{ID: pending[1].ID, Status: 500, Err: "500", RetryAt: time.Now()}}, 0); err != nil || !off {
				t.Fatalf("record: %v, %v; want turned off", off, err)
			}
			log, err := s.Webhooks.Deliveries(ctx, all.ID, 10)
			if err != nil || len(log) != 2 || log[0].Status != WebhookFailed || log[1].Status != WebhookDelivered {
				t.Fatalf("log %+v, %v", log, err)
			}
			feed, err := s.Events.Feed(ctx, annID, false, 0, 10)
			if err != nil || len(feed) != 1 || feed[0].Kind != EventInviteSent {
				t.Fatalf("ann's feed %+v, %v", feed, err)
			}
			feed, err = s.Events.Feed(ctx, staffID, true, 0, 10)
			if err != nil || len(feed) != 2 {
				t.Fatalf("the staff feed %+v, %v", feed, err)
			}
			if feed, _ := s.Events.Feed(ctx, staffID, true, feed[0].ID, 10); len(feed) != 1 {
				t.Fatalf("after a cursor %+v", feed)
			}
			if err := s.Webhooks.Delete(ctx, some.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
}
