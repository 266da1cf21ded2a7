package models_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// BenchmarkCreateInvitation sends invitations from one unlimited member:
// the checks, the take, the insert, the queued email and the event, in one
// transaction each.
func BenchmarkCreateInvitation(b *testing.B) {
	e := newEnv(b, func(o *models.Options) { o.DefaultAllocation = -1; o.InviteRate, o.RecipientRate = 0, 0 })
	ann := e.user("ann@example.com", "ann", true)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, _, err := e.store.Invitations.Create(ctx, ann.ID, fmt.Sprintf("friend%d@example.com", i), "Come and see", 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateInvitationConcurrently sends invitations from 32 members at
// once, as the load run does without HTTP: what the single writer manages
// when writes are grouped.
func BenchmarkCreateInvitationConcurrently(b *testing.B) {
	e := newEnv(b, func(o *models.Options) { o.DefaultAllocation = -1; o.InviteRate, o.RecipientRate = 0, 0 })
	var members []models.User
	for i := range 32 {
		members = append(members, e.user(fmt.Sprintf("m%d@example.com", i), fmt.Sprintf("m%d", i), true))
	}
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(16) // 32 goroutines on two cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, _, err := e.store.Invitations.CreateFrom(ctx, members[i%32], fmt.Sprintf("friend%d@example.com", i), "Come and see", 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSentList reads a member's sent list with 1,000 invitations: the
// panel's first 10 (no count) and a 25-row page with its count, as GET /
// and GET /invitations do.
func BenchmarkSentList(b *testing.B) {
	e := newEnv(b, func(o *models.Options) { o.DefaultAllocation = -1; o.InviteRate, o.RecipientRate = 0, 0 })
	ann := e.user("ann@example.com", "ann", true)
	ctx := context.Background()
	for i := range 1000 {
		if _, _, err := e.store.Invitations.CreateFrom(ctx, ann, fmt.Sprintf("friend%d@example.com", i), "Come and see", 0); err != nil {
			b.Fatal(err)
		}
	}
	for _, f := range []models.ListFilter{
		{InviterID: ann.ID, PerPage: 10, SkipTotal: true},
		{InviterID: ann.ID, PerPage: 25, Page: 1},
	} {
		b.Run(fmt.Sprintf("per_page=%d,total=%t", f.PerPage, !f.SkipTotal), func(b *testing.B) {
			for b.Loop() {
				invs, _, err := e.store.Invitations.List(ctx, f)
				if err != nil || len(invs) != f.PerPage {
					b.Fatal(len(invs), err)
				}
			}
		})
	}
}
