package models_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/migrations"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
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
		if _, err := e.db.Exec(`UPDATE allocations SET allocated = ?, unlimited = FALSE WHERE user_id = ?`, s.allocated+s.held, u.ID); err != nil {
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
		{"0004", 1, 4, true}, {"00000000000000000000007", 1, 7, true}, {"\t12\n", 1, 12, true}, {"1 000", 1, 0, false}, {"1,000", 1, 0, false},
		{"0x10", 0, 0, false}, {"1_000", 0, 0, false},
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
	users, next, err := e.store.Staff.ListUsers(ctx, models.UserFilter{Query: "ANN"})
	if err != nil || next != "" || len(users) != 2 {
		t.Fatalf("search ann: %d users, next %q, %v", len(users), next, err)
	}
	users, next, _ = e.store.Staff.ListUsers(ctx, models.UserFilter{PerPage: 2})
	if len(users) != 2 || next == "" {
		t.Errorf("first page: %d, next %q", len(users), next)
	}
	users, next, _ = e.store.Staff.ListUsers(ctx, models.UserFilter{PerPage: 2, After: next})
	if len(users) != 1 || next != "" || users[0].Username != "zed" {
		t.Errorf("second page: %+v, next %q", users, next)
	}
}

// recountStats counts what Stats reports straight from the invitations.
func recountStats(t *testing.T, e *env) models.Stats {
	t.Helper()
	now := e.clock.Now().Unix()
	var st models.Stats
	err := e.db.QueryRow(`SELECT (SELECT count(*) FROM users), count(*),
		count(*) FILTER (WHERE status = 'pending' AND expires_at > ?1),
		count(*) FILTER (WHERE status = 'accepted'),
		count(*) FILTER (WHERE status = 'joined_independently'),
		count(*) FILTER (WHERE status = 'expired' OR status = 'pending' AND expires_at <= ?1),
		count(*) FILTER (WHERE status = 'revoked'),
		count(*) FILTER (WHERE status = 'declined')
		FROM invitations`, now).Scan(&st.Members, &st.Sent, &st.Pending, &st.Accepted, &st.JoinedIndependently, &st.Expired, &st.Revoked, &st.Declined)
	if err != nil {
		t.Fatal(err)
	}
	first := now/86400 - (models.ChartDays - 1)
	for i := range int64(models.ChartDays) {
		d := models.DayCount{Day: time.Unix((first+i)*86400, 0).UTC()}
		err := e.db.QueryRow(`SELECT (SELECT count(*) FROM invitations WHERE created_at / 86400 = ?1),
			(SELECT count(*) FROM invitations WHERE accepted_at / 86400 = ?1)`, first+i).Scan(&d.Invitations, &d.Joins)
		if err != nil {
			t.Fatal(err)
		}
		st.Days = append(st.Days, d)
	}
	return st
}

// TestStatsFollowEveryChange checks the totals that triggers keep against a
// recount after each kind of change, over several days, and that migration
// 0007 builds the same totals from existing invitations.
func TestStatsFollowEveryChange(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.InviteRate, o.RecipientRate, o.InviteExpiry = 0, 0, 48*time.Hour })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	bea := e.user("bea@example.com", "bea", true)
	e.store.Staff.AddToAll(ctx, 0, 20, false)
	check := func(step string) {
		t.Helper()
		got, err := e.store.Staff.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := recountStats(t, e); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after %s:\n got %v\nwant %v", step, got, want)
		}
	}
	create := func(from models.User, to string) models.Invitation {
		t.Helper()
		inv, _, err := e.store.Invitations.Create(ctx, from.ID, to, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	for i := range 4 {
		create(ann, fmt.Sprintf("day%d@example.com", i))
		e.clock.Advance(20 * time.Hour)
	}
	check("sending over four days")
	create(ann, "carl@example.com")
	create(bea, "carl@example.com")
	links := e.mint()
	if _, _, err := e.store.Invitations.Join(ctx, tokenOf(links[len(links)-2]), models.NewUser{Email: "carl@example.com", Username: "carl", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	check("a join through a link and one independently")
	revoked := create(bea, "dora@example.com")
	e.store.Invitations.Revoke(ctx, bea.ID, revoked.ID)
	resent := create(bea, "eve@example.com")
	e.mint()
	e.store.Invitations.Resend(ctx, bea.ID, resent.ID)
	check("a revoke and a resend")
	create(bea, "fay@example.com")
	links = e.mint()
	if _, err := e.store.Invitations.Decline(ctx, tokenOf(links[len(links)-1])); err != nil {
		t.Fatal(err)
	}
	check("a decline")
	e.clock.Advance(49 * time.Hour)
	check("expiry before the sweep")
	if n, err := e.store.Invitations.ExpireDue(ctx); err != nil || n == 0 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	check("the sweep")
	e.clock.Advance(31 * 24 * time.Hour)
	create(ann, "late@example.com")
	check("a month later")

	// The migration builds the same totals from the invitations alone.
	if testdb.Postgres() {
		return // the replay below is of SQLite's migration 0007
	}
	if _, err := e.db.Exec(`DROP TABLE invitation_days`); err != nil {
		t.Fatal(err)
	}
	rows, err := e.db.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'invitations_stats_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var triggers []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		triggers = append(triggers, name)
	}
	rows.Close()
	for _, name := range triggers {
		if _, err := e.db.Exec(`DROP TRIGGER ` + name); err != nil {
			t.Fatal(err)
		}
	}
	body, err := fs.ReadFile(migrations.Files, "0007_staff_stats.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(string(body)); err != nil {
		t.Fatal(err)
	}
	// 0007 knows no declined invitations: 0013 added the column when there
	// were none to count, so here the count is made by hand.
	if _, err := e.db.Exec(`ALTER TABLE invitation_days ADD COLUMN declined INTEGER NOT NULL DEFAULT 0;
		UPDATE invitation_days SET declined = (SELECT count(*) FROM invitations
			WHERE status = 'declined' AND coalesce(accepted_at, ended_at, revoked_at, created_at) / 86400 = day)`); err != nil {
		t.Fatal(err)
	}
	check("migration 0007 on existing invitations")
}

// searchUsersDB makes users whose usernames and addresses relate in the ways
// that make a search by either tricky, and returns every user as
// username -> email key.
func searchUsersDB(t *testing.T, e *env) map[string]string {
	t.Helper()
	for _, q := range []string{
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 300)
		INSERT INTO users (email, email_key, username, password_hash, joined_at)
		SELECT email, lower(email), username, 'x', 1 FROM (
			SELECT 'ann' || i || '@example.com' AS email, 'ann' || i AS username FROM seq      -- the username starts the address
			UNION ALL SELECT 'bob' || i || '@example.com', 'bobby' || i FROM seq WHERE i <= 40 -- the address sorts first
			UNION ALL SELECT 'Az' || i || '@X.com', 'aa' || i FROM seq                         -- far apart under "a"
			UNION ALL SELECT 'annie' || i || '@example.com', 'zed' || i FROM seq WHERE i <= 30 -- only the address matches
			UNION ALL SELECT 'kim' || i || '@example.com', 'annette' || i FROM seq WHERE i <= 30 -- only the username matches
			UNION ALL SELECT 'other' || i || '@example.com', 'other' || i FROM seq WHERE i <= 50) AS seeded`,
		`INSERT INTO allocations (user_id) SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM allocations)`,
	} {
		if _, err := e.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	all := map[string]string{}
	rows, err := e.db.Query(`SELECT username, email_key FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, key string
		rows.Scan(&name, &key)
		all[name] = key
	}
	return all
}

func TestUserSearchListsEveryMatchOnce(t *testing.T) {
	e := newEnv(t)
	all := searchUsersDB(t, e)
	ctx := context.Background()
	for _, q := range []string{"a", "ann", "ANN1", "ann10", "annie", "b", "bob", "bobby3", "az", "aa1", "z", "other50", "nobody", "@"} {
		// What a search must list: every user whose username or address
		// starts with the query, once, in the order of the smaller key that matched.
		key := strings.ToLower(q)
		type hit struct{ key, name string }
		var want []hit
		for name, email := range all {
			var keys []string
			for _, k := range []string{name, email} {
				if strings.HasPrefix(k, key) {
					keys = append(keys, k)
				}
			}
			if len(keys) > 0 {
				want = append(want, hit{slices.Min(keys), name})
			}
		}
		slices.SortFunc(want, func(a, b hit) int { return strings.Compare(a.key, b.key) })
		var wantNames []string
		for _, h := range want {
			wantNames = append(wantNames, h.name)
		}
		for _, per := range []int{1, 7, 50} {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatalf("%q by %d: the pages never end", q, per)
				}
				users, next, err := e.store.Staff.ListUsers(ctx, models.UserFilter{Query: q, After: after, PerPage: per})
				if err != nil {
					t.Fatal(err)
				}
				if len(users) > per {
					t.Fatalf("%q by %d: a page of %d", q, per, len(users))
				}
				for _, u := range users {
					got = append(got, u.Username)
				}
				if next == "" {
					break
				}
				after = next
			}
			if !slices.Equal(got, wantNames) {
				t.Errorf("%q by %d:\n got %v\nwant %v", q, per, got, wantNames)
			}
		}
	}
}

func TestUserSearchWithManyMatches(t *testing.T) {
	e := newEnv(t)
	seedMembers(t, e.db, 5000)
	ctx := context.Background()
	for _, q := range []string{"member", "MEMBER1", "member4999"} {
		var seen []string
		after := ""
		for {
			users, next, err := e.store.Staff.ListUsers(ctx, models.UserFilter{Query: q, After: after, PerPage: 400})
			if err != nil {
				t.Fatal(err)
			}
			for i, u := range users {
				if !strings.HasPrefix(u.Username, strings.ToLower(q)) {
					t.Fatalf("%q matched @%s", q, u.Username)
				}
				if i > 0 && u.Username <= users[i-1].Username {
					t.Fatalf("%q: not in username order", q)
				}
				seen = append(seen, u.Username)
			}
			if next == "" {
				break
			}
			after = next
		}
		want := map[string]int{"member": 5000, "MEMBER1": 1111, "member4999": 1}[q]
		if len(seen) != want {
			t.Errorf("%q: %d users over all pages; want %d", q, len(seen), want)
		}
	}
}

// TestUserSearchReadsABoundedNumberOfEntries pages deep into a search where
// every address entry belongs to a user listed earlier by username: a page
// may end early, but never reads without bound, and the pages together list
// every match once.
func TestUserSearchReadsABoundedNumberOfEntries(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 30000)
		INSERT INTO users (email, email_key, username, password_hash, joined_at)
		SELECT 'az' || i || '@x.com', 'az' || i || '@x.com', 'aa' || i, 'x', 1 FROM seq`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`INSERT INTO allocations (user_id) SELECT id FROM users`); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seen := map[int64]bool{}
	after, pages, short := "", 0, 0
	for {
		users, next, err := e.store.Staff.ListUsers(ctx, models.UserFilter{Query: "a", After: after, PerPage: 1000})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range users {
			if seen[u.ID] {
				t.Fatalf("@%s listed twice", u.Username)
			}
			seen[u.ID] = true
		}
		if next == "" {
			break
		}
		if len(users) < 1000 {
			short++
		}
		after = next
	}
	if len(seen) != 30000 {
		t.Errorf("listed %d users; want 30000", len(seen))
	}
	if short == 0 {
		t.Error("no page ended early: the test no longer reaches the budget")
	}
	t.Logf("%d pages, %d of them short", pages, short)
}

// TestStaffInvitationsAgreeWithList pages through every member's invitations
// with each filter and checks them against Invitations.List, which reads the
// same statuses (an overdue pending invitation as expired) without keysets.
func TestStaffInvitationsAgreeWithList(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.InviteRate, o.RecipientRate, o.InviteExpiry = 0, 0, 48*time.Hour })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	bea := e.user("bea@example.com", "bea", true)
	e.store.Staff.AddToAll(ctx, 0, 100, false)
	for i := range 30 {
		from := []models.User{ann, bea}[i%2]
		inv, _, err := e.store.Invitations.Create(ctx, from.ID, fmt.Sprintf("f%02d@example.com", i), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 6 {
		case 1:
			e.store.Invitations.Revoke(ctx, from.ID, inv.ID)
		case 2:
			e.clock.Advance(30 * time.Hour) // the earlier ones run out
		case 3:
			e.store.Invitations.ExpireDue(ctx) // some expired for good
		}
	}
	e.mint()
	// Bea's pending invitations run out, unswept; carl's are new, and dan
	// joins through carl's link while ann has invited him too.
	e.clock.Advance(49 * time.Hour)
	carl := e.user("carl@example.com", "carl", true)
	for _, inv := range []struct {
		from models.User
		to   string
	}{{ann, "dan@example.com"}, {carl, "dan@example.com"}, {carl, "c1@example.com"}, {carl, "c2@example.com"}} {
		if _, _, err := e.store.Invitations.Create(ctx, inv.from.ID, inv.to, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	links := e.mint()
	if _, _, err := e.store.Invitations.Join(ctx, tokenOf(links[1]), models.NewUser{Email: "dan@example.com", Username: "dan", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Invitations.Decline(ctx, tokenOf(links[3])); err != nil {
		t.Fatal(err)
	}
	for _, inviter := range []models.User{{}, ann, bea, carl} {
		for _, status := range append([]string{""}, models.Statuses...) {
			want, _, err := e.store.Invitations.List(ctx, models.ListFilter{Status: status, InviterID: inviter.ID, PerPage: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var got []models.Invitation
			before := int64(0)
			for {
				page, next, err := e.store.Staff.Invitations(ctx, models.InvitationFilter{Status: status, InviterID: inviter.ID, Before: before, PerPage: 4})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if next == 0 {
					break
				}
				before = next
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 && (status == "" || inviter.ID == 0) {
				t.Errorf("status %q, inviter %q: %d invitations; List gives %d", status, inviter.Username, len(got), len(want))
			}
			if status == models.StatusExpired && inviter.ID == 0 {
				overdue := 0
				for _, inv := range got {
					var stored string
					e.db.QueryRow(`SELECT status FROM invitations WHERE id = ?`, inv.ID).Scan(&stored)
					if stored == models.StatusPending {
						overdue++
					}
				}
				if overdue == 0 || overdue == len(got) {
					t.Errorf("%d of %d expired invitations are overdue pending ones; the test wants both kinds", overdue, len(got))
				}
			}
		}
	}
}

func TestKeyedStaffChangeRunsOnce(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.InviteRate, o.RecipientRate = 0, 0 })
	ctx := context.Background()
	boss := e.user("boss@example.com", "boss", true)
	ids := seedAllocations(t, e, []seed{{"a", 1, 0, false}, {"b", 0, 0, false}})
	remaining := func() (int, int) {
		return allocationOf(t, e, ids["a"]).Remaining(), allocationOf(t, e, ids["b"]).Remaining()
	}

	// Ten tries at once under one key (a double click, a retried request)
	// add once, and every one of them answers with the first run's count.
	var wg sync.WaitGroup
	counts := make([]int, 10)
	errs := make([]error, 10)
	for i := range counts {
		wg.Go(func() { counts[i], errs[i] = e.store.Staff.Keyed("form-1").AddToAll(ctx, boss.ID, 2, false) })
	}
	wg.Wait()
	first := counts[0]
	for i := range counts {
		if errs[i] != nil || counts[i] != first {
			t.Fatalf("try %d: %d users, %v; want %d and no error", i, counts[i], errs[i], first)
		}
	}
	if a, b := remaining(); a != 3 || b != 2 {
		t.Fatalf("remaining %d and %d after ten tries of one keyed add of 2; want 3 and 2", a, b)
	}
	if entries, _, _ := e.store.Staff.Audit(ctx, 1, 50); len(entries) != 1 {
		t.Errorf("%d audit entries for one keyed change; want 1", len(entries))
	}

	// The same key for another change is refused, and changes nothing.
	if _, err := e.store.Staff.Keyed("form-1").AddToAll(ctx, boss.ID, 5, false); !errors.Is(err, models.ErrIdempotencyKeyReused) {
		t.Errorf("same key, other amount: %v; want ErrIdempotencyKeyReused", err)
	}
	if _, err := e.store.Staff.Keyed("form-1").TopOffUser(ctx, boss.ID, ids["a"], 2); !errors.Is(err, models.ErrIdempotencyKeyReused) {
		t.Errorf("same key, other action: %v; want ErrIdempotencyKeyReused", err)
	}
	// Keys are the actor's own: another staff member's "form-1" is new.
	other := e.user("other@example.com", "other", true)
	if _, err := e.store.Staff.Keyed("form-1").AddToUser(ctx, other.ID, ids["b"], 1); err != nil {
		t.Fatal(err)
	}
	if a, b := remaining(); a != 3 || b != 3 {
		t.Fatalf("remaining %d and %d; want 3 and 3", a, b)
	}
	for _, key := range []string{"with space", "ünicode", strings.Repeat("k", 256), "tab\t"} {
		if _, err := e.store.Staff.Keyed(key).AddToAll(ctx, boss.ID, 1, false); !errors.Is(err, models.ErrBadIdempotencyKey) {
			t.Errorf("key %q: %v; want ErrBadIdempotencyKey", key, err)
		}
	}
	// A day later the key is forgotten and counts as new (one more member
	// than at the first run: other).
	e.clock.Advance(24*time.Hour + time.Second)
	if n, err := e.store.Staff.Keyed("form-1").AddToAll(ctx, boss.ID, 5, false); err != nil || n != first+1 {
		t.Fatalf("a day later: %d, %v; want %d users changed", n, err, first+1)
	}
	if a, _ := remaining(); a != 8 {
		t.Errorf("remaining %d after the day-old key's new change; want 8", a)
	}
}
