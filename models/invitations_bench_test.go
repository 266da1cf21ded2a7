package models_test

import (
	"context"
	"fmt"
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
