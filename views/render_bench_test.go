package views_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// sentList is a page of n invitations in every status and delivery state,
// as the sent list shows them.
func sentList(n int) views.SentList {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	statuses := []string{models.StatusPending, models.StatusPending, models.StatusAccepted, models.StatusExpired, models.StatusRevoked, models.StatusJoinedIndependently}
	deliveries := []string{models.DeliverySent, models.DeliveryQueued, models.DeliverySent, models.DeliveryFailed, models.DeliverySent, models.DeliveryBounced}
	list := views.SentList{Page: 1, PerPage: n, Total: 1000, Now: now}
	for i := range n {
		inv := models.Invitation{
			ID: int64(1000 - i), InviterID: 1, InviterUsername: "member1", Email: "friend" + strconv.Itoa(i) + "@example.net",
			Status: statuses[i%len(statuses)], Delivery: deliveries[i%len(deliveries)],
			CreatedAt: now.Add(-time.Duration(i) * time.Hour), SentAt: now.Add(-time.Duration(i) * time.Hour),
			ExpiresAt: now.Add(time.Duration(168-i) * time.Hour),
		}
		if i%3 == 0 {
			inv.Note = "Come and see what we are building."
		}
		if inv.Status == models.StatusAccepted {
			inv.AcceptedAt, inv.InviteeID, inv.InviteeUsername = now.Add(-time.Minute), 99, "friend"+strconv.Itoa(i)
		}
		if inv.Status == models.StatusRevoked {
			inv.RevokedAt = now.Add(-time.Minute)
		}
		list.Invitations = append(list.Invitations, inv)
	}
	return list
}

// BenchmarkSentListBlock25 renders the sent list's 25 rows, the largest
// part of GET /invitations (docs/performance.md).
func BenchmarkSentListBlock25(b *testing.B) {
	list := sentList(25)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := views.SentListBlock(list).Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
	}
}
