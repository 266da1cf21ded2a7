package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// seedUsers makes users with the given allocations and held counts (held
// through real pending invitations) and unlimited flags.
type seed struct {
	name      string
	allocated int
	held      int
	unlimited bool
}

func seedAllocations(t *testing.T, e *env, seeds []seed) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	ids := map[string]int64{}
	for _, s := range seeds {
		u := e.user(s.name+"@example.com", s.name, true)
		ids[s.name] = u.ID
		if _, err := e.db.Exec(`UPDATE allocations SET allocated = ?, unlimited = 0 WHERE user_id = ?`, s.allocated+s.held, u.ID); err != nil {
			t.Fatal(err)
		}
		for i := range s.held {
			if _, _, err := e.store.Invitations.Create(ctx, u.ID, fmt.Sprintf("%s-friend%d@example.com", s.name, i), "", 0); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.db.Exec(`UPDATE allocations SET allocated = ?, unlimited = ? WHERE user_id = ?`, s.allocated, s.unlimited, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func allocationOf(t *testing.T, e *env, id int64) models.Allocation {
	t.Helper()
	a, err := e.store.Users.Allocation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestStaffOperationsSemantics(t *testing.T) {
	// remaining = allocated - held; each seed lists allocated and held.
	seeds := []seed{
		{"zero", 0, 0, false},    // remaining 0
		{"two", 2, 0, false},     // remaining 2
		{"five", 5, 0, false},    // remaining 5
		{"busy", 3, 3, false},    // remaining 0, holds 3
		{"over", 1, 2, false},    // allocation lowered below held: remaining 0
		{"infinite", 0, 2, true}, // unlimited
		{"partial", 4, 1, false}, // remaining 3
	}
	type want struct {
		allocated int
		unlimited bool
	}
	for _, tc := range []struct {
		name    string
		op      func(s *models.Staff) (int, error)
		changed int
		want    map[string]want
	}{
		{"top off to 3", func(s *models.Staff) (int, error) { return s.TopOffAll(context.Background(), 0, 3) }, 4,
			map[string]want{"zero": {3, false}, "two": {3, false}, "five": {5, false}, "busy": {6, false},
				"over": {5, false}, "infinite": {0, true}, "partial": {4, false}}},
		{"top off to 0", func(s *models.Staff) (int, error) { return s.TopOffAll(context.Background(), 0, 0) }, 0,
			map[string]want{"zero": {0, false}, "over": {1, false}, "infinite": {0, true}}},
		{"add 2", func(s *models.Staff) (int, error) { return s.AddToAll(context.Background(), 0, 2, false) }, 6,
			map[string]want{"zero": {2, false}, "two": {4, false}, "busy": {5, false}, "over": {3, false}, "infinite": {0, true}}},
		{"add 2 to those with none left", func(s *models.Staff) (int, error) { return s.AddToAll(context.Background(), 0, 2, true) }, 3,
			map[string]want{"zero": {2, false}, "two": {2, false}, "busy": {5, false}, "over": {3, false}, "partial": {4, false}, "infinite": {0, true}}},
		{"unlimited on", func(s *models.Staff) (int, error) { return s.SetUnlimitedAll(context.Background(), 0, true, 0) }, 6,
			map[string]want{"zero": {0, true}, "busy": {3, true}, "infinite": {0, true}}},
		{"unlimited off at 4", func(s *models.Staff) (int, error) { return s.SetUnlimitedAll(context.Background(), 0, false, 4) }, 6,
			map[string]want{"zero": {4, false}, "five": {4, false}, "partial": {4, false}, "infinite": {4, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *models.Options) { o.InviteRate, o.RecipientRate = 0, 0 })
			ids := seedAllocations(t, e, seeds)
			changed, err := tc.op(e.store.Staff)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tc.changed {
				t.Errorf("changed %d users; want %d", changed, tc.changed)
			}
			for name, w := range tc.want {
				a := allocationOf(t, e, ids[name])
				if a.Allocated != w.allocated || a.Unlimited != w.unlimited {
					t.Errorf("@%s: allocated %d unlimited %v; want %d %v", name, a.Allocated, a.Unlimited, w.allocated, w.unlimited)
				}
			}
			again, err := tc.op(e.store.Staff)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name != "add 2" && again != 0 && tc.name != "add 2 to those with none left" {
				t.Errorf("running it twice changed %d more users; want 0", again)
			}
			checkCounters(t, e)
		})
	}
}

func TestTopOffRaisesToExactlyN(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.InviteRate, o.RecipientRate = 0, 0 })
	ids := seedAllocations(t, e, []seed{{"a", 0, 0, false}, {"b", 1, 2, false}, {"c", 9, 0, false}})
	if _, err := e.store.Staff.TopOffAll(context.Background(), 0, 5); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"a": 5, "b": 5, "c": 9} {
		if got := allocationOf(t, e, ids[name]).Remaining(); got != want {
			t.Errorf("@%s remaining %d; want %d", name, got, want)
		}
	}
}

func TestOnlyTheSwitchMakesUsersUnlimited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("a@example.com", "aaa", true)
	for _, op := range []func() (int, error){
		func() (int, error) { return e.store.Staff.TopOffAll(ctx, 0, models.MaxAmount) },
		func() (int, error) { return e.store.Staff.AddToUser(ctx, 0, u.ID, models.MaxAmount) },
		func() (int, error) { return e.store.Staff.TopOffUser(ctx, 0, u.ID, 0) },
		func() (int, error) { return e.store.Staff.SetUnlimitedUser(ctx, 0, u.ID, false, 0) },
	} {
		if _, err := op(); err != nil {
			t.Fatal(err)
		}
		if allocationOf(t, e, u.ID).Unlimited {
			t.Fatal("an allocation change made the user unlimited")
		}
	}
	if n, err := e.store.Staff.SetUnlimitedUser(ctx, 0, u.ID, true, 0); err != nil || n != 1 {
		t.Fatalf("switch on: %d %v", n, err)
	}
	if !allocationOf(t, e, u.ID).Unlimited {
		t.Error("the switch did not make the user unlimited")
	}
	if _, err := e.store.Staff.AddToUser(ctx, 0, 999, 1); err != models.ErrNoRecord {
		t.Errorf("unknown user: %v; want ErrNoRecord", err)
	}
}

func TestStaffChangesAreAuditedWithEvents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	boss := e.user("boss@example.com", "boss", true)
	ann := e.user("ann@example.com", "ann", true)
	var events []models.Event
	e.store.Events.Subscribe(func(ev models.Event) { events = append(events, ev) })
	e.store.Staff.TopOffAll(ctx, boss.ID, 10)
	e.store.Staff.AddToUser(ctx, 0, ann.ID, 3)
	entries, more, err := e.store.Staff.Audit(ctx, 1, 10)
	if err != nil || more || len(entries) != 2 {
		t.Fatalf("audit: %d entries, more %v, %v", len(entries), more, err)
	}
	if a := entries[0]; a.Action != models.ActionAddTo || a.ActorID != 0 || a.TargetName != "ann" || a.Amount != 3 || a.UsersChanged != 1 {
		t.Errorf("newest entry %+v", a)
	}
	if a := entries[1]; a.Action != models.ActionTopOff || a.ActorUsername != "boss" || a.TargetID != 0 || a.UsersChanged != 2 {
		t.Errorf("older entry %+v", a)
	}
	if len(events) != 2 || events[0].Kind != models.EventAllocationChanged || events[0].Data["users_changed"] != 2 {
		t.Errorf("events %+v", events)
	}
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		raw string
		min int
		n   int
		ok  bool
	}{
		{"4", 1, 4, true}, {" 4 ", 1, 4, true}, {"0", 0, 0, true}, {"1000000", 1, 1000000, true},
		{"0", 1, 0, false}, {"", 0, 0, false}, {"abc", 0, 0, false}, {"1.5", 0, 0, false}, {"1e3", 0, 0, false},
		{"-1", 0, 0, false}, {"+1", 0, 0, false}, {"1000001", 0, 0, false}, {"99999999999999999999", 0, 0, false}, {"١", 0, 0, false},
	} {
		n, ok := models.ParseAmount(tc.raw, tc.min)
		if n != tc.n || ok != tc.ok {
			t.Errorf("ParseAmount(%q, %d) = %d, %v; want %d, %v", tc.raw, tc.min, n, ok, tc.n, tc.ok)
		}
	}
}

func TestStatsAndUserSearch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	e.user("Annabel@Example.com", "belle", true)
	e.user("zed@example.com", "zed", true)
	e.store.Invitations.Create(ctx, ann.ID, "x@example.com", "", 0)
	e.store.Invitations.Create(ctx, ann.ID, "y@example.com", "", 0)
	inv, _, _ := e.store.Invitations.Create(ctx, ann.ID, "z@example.com", "", 0)
	e.store.Invitations.RevokeAsStaff(ctx, ann.ID, inv.ID)
	st, err := e.store.Staff.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Members != 3 || st.Sent != 3 || st.Pending != 2 || st.Revoked != 1 || st.AcceptanceRate() != 0 {
		t.Errorf("stats %+v", st)
	}
	if len(st.Days) != models.ChartDays || st.Days[models.ChartDays-1].Invitations != 3 {
		t.Errorf("today's count %+v", st.Days[len(st.Days)-1])
	}
	users, more, err := e.store.Staff.ListUsers(ctx, models.UserFilter{Query: "ANN"})
	if err != nil || more || len(users) != 2 {
		t.Fatalf("search ann: %d users, more %v, %v", len(users), more, err)
	}
	users, more, _ = e.store.Staff.ListUsers(ctx, models.UserFilter{PerPage: 2})
	if len(users) != 2 || !more {
		t.Errorf("first page: %d, more %v", len(users), more)
	}
	users, more, _ = e.store.Staff.ListUsers(ctx, models.UserFilter{PerPage: 2, AfterID: users[1].ID})
	if len(users) != 1 || more || users[0].Username != "zed" {
		t.Errorf("second page: %+v, more %v", users, more)
	}
}

func TestUserSearchWithManyMatches(t *testing.T) {
	e := newEnv(t)
	seedMembers(t, e.db, 5000) // more matches for "member" than manyMatches
	ctx := context.Background()
	for _, q := range []string{"member", "MEMBER1", "member4999"} {
		var seen []string
		after := int64(0)
		for {
			users, more, err := e.store.Staff.ListUsers(ctx, models.UserFilter{Query: q, AfterID: after, PerPage: 400})
			if err != nil {
				t.Fatal(err)
			}
			for i, u := range users {
				if !strings.HasPrefix(u.Username, strings.ToLower(q)) {
					t.Fatalf("%q matched @%s", q, u.Username)
				}
				if i > 0 && u.ID <= users[i-1].ID {
					t.Fatalf("%q: not in id order", q)
				}
				seen = append(seen, u.Username)
			}
			if !more {
				break
			}
			after = users[len(users)-1].ID
		}
		want := map[string]int{"member": 5000, "MEMBER1": 1111, "member4999": 1}[q]
		if len(seen) != want {
			t.Errorf("%q: %d users over all pages; want %d", q, len(seen), want)
		}
	}
}
