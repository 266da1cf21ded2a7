package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// invite sends invitations from u to each address and fails the test on error.
func invite(t *testing.T, e *env, u models.User, emails ...string) []models.Invitation {
	t.Helper()
	var out []models.Invitation
	for _, addr := range emails {
		inv, _, err := e.store.Invitations.Create(context.Background(), u.ID, addr, "", 0)
		if err != nil {
			t.Fatalf("invite %s from @%s: %v", addr, u.Username, err)
		}
		out = append(out, inv)
	}
	return out
}

// eventCount counts the recorded events of kind.
func eventCount(t *testing.T, e *env, kind string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM events WHERE kind = ?`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSuspendEndsTokensAndInvitationsAndUnsuspendRestoresNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	boss := e.user("boss@example.com", "boss", true)
	ann := e.user("ann@example.com", "ann", true)
	invite(t, e, ann, "one@example.com", "two@example.com")
	links := e.mint()
	token, _, err := e.store.APITokens.Create(ctx, ann.ID, "script")
	if err != nil {
		t.Fatal(err)
	}
	var published []models.Event
	defer e.store.Events.Subscribe(func(ev models.Event) { published = append(published, ev) })()

	res, err := e.store.Staff.Suspend(ctx, boss.ID, ann.ID, "Spam invitations")
	if err != nil {
		t.Fatal(err)
	}
	if want := (models.ModerationResult{UsersChanged: 1, InvitationsRevoked: 2, TokensRevoked: 1}); res != want {
		t.Errorf("suspend changed %+v; want %+v", res, want)
	}
	for _, l := range links {
		if _, err := e.store.Invitations.LookupToken(ctx, tokenOf(l)); !errors.Is(err, models.ErrInvitationRevoked) {
			t.Errorf("link after suspension: %v; want ErrInvitationRevoked", err)
		}
	}
	if a, _ := e.store.Users.Allocation(ctx, ann.ID); a.Held != 0 {
		t.Errorf("held %d after suspension; want both given back", a.Held)
	}
	if _, err := e.store.APITokens.Authenticate(ctx, token); !errors.Is(err, models.ErrTokenUnknown) {
		t.Errorf("token after suspension: %v", err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "three@example.com", "", 0); !errors.Is(err, models.ErrSuspended) {
		t.Errorf("inviting while suspended: %v; want ErrSuspended", err)
	}
	st, err := e.store.Staff.Standing(ctx, ann.ID)
	if err != nil || !st.Suspended || st.SuspendedReason != "Spam invitations" || !st.EverSuspended {
		t.Errorf("standing %+v, %v", st, err)
	}
	kinds := map[string]int{}
	for _, ev := range published {
		kinds[ev.Kind]++
	}
	if kinds[models.EventMemberSuspended] != 1 || kinds[models.EventInvitationRevoked] != 2 {
		t.Errorf("published %v", kinds)
	}
	entries, _, err := e.store.Staff.Audit(ctx, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if a := entries[0]; a.Action != models.ActionSuspend || a.ActorID != boss.ID || a.TargetID != ann.ID ||
		a.Reason != "Spam invitations" || a.UsersChanged != 1 || a.InvitationsChanged != 2 {
		t.Errorf("audit entry %+v", a)
	}
	// Again: nothing more changes.
	if res, err := e.store.Staff.Suspend(ctx, boss.ID, ann.ID, "again"); err != nil || res != (models.ModerationResult{}) {
		t.Errorf("second suspension changed %+v, %v", res, err)
	}
	if st, _ := e.store.Staff.Standing(ctx, ann.ID); st.SuspendedReason != "Spam invitations" {
		t.Errorf("a second suspension replaced the reason: %q", st.SuspendedReason)
	}

	res, err = e.store.Staff.Unsuspend(ctx, boss.ID, ann.ID, "")
	if err != nil || res.UsersChanged != 1 {
		t.Fatalf("unsuspend: %+v, %v", res, err)
	}
	if ok, _ := e.store.Staff.Suspended(ctx, ann.ID); ok {
		t.Error("still suspended")
	}
	if _, err := e.store.APITokens.Authenticate(ctx, token); !errors.Is(err, models.ErrTokenUnknown) {
		t.Errorf("the token came back: %v", err)
	}
	if _, err := e.store.Invitations.LookupToken(ctx, tokenOf(links[0])); !errors.Is(err, models.ErrInvitationRevoked) {
		t.Errorf("an invitation came back: %v", err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "three@example.com", "", 0); err != nil {
		t.Errorf("inviting after unsuspension: %v", err)
	}
	if st, _ := e.store.Staff.Standing(ctx, ann.ID); !st.EverSuspended {
		t.Error("ever_suspended was forgotten")
	}
	if n := eventCount(t, e, models.EventMemberUnsuspended); n != 1 {
		t.Errorf("%d member_unsuspended events", n)
	}
	history, err := e.store.Staff.History(ctx, ann.ID, 10)
	if err != nil || len(history) != 3 || history[0].Action != models.ActionUnsuspend {
		t.Errorf("history %+v, %v", history, err)
	}
	checkCounters(t, e)
}

func TestStaffCannotSuspendThemselves(t *testing.T) {
	e := newEnv(t)
	boss := e.user("boss@example.com", "boss", true)
	ctx := context.Background()
	if _, err := e.store.Staff.Suspend(ctx, boss.ID, boss.ID, "oops"); !errors.Is(err, models.ErrSelfModeration) {
		t.Errorf("self suspension: %v", err)
	}
	if _, err := e.store.Staff.SetInviting(ctx, boss.ID, boss.ID, false, "oops"); !errors.Is(err, models.ErrSelfModeration) {
		t.Errorf("own inviting off: %v", err)
	}
	if _, err := e.store.Staff.Suspend(ctx, boss.ID, 999, "nobody"); !errors.Is(err, models.ErrNoRecord) {
		t.Errorf("unknown user: %v", err)
	}
	if n := eventCount(t, e, models.EventMemberSuspended); n != 0 {
		t.Errorf("%d events for refused suspensions", n)
	}
}

func TestInvitingOffRefusesNewInvitationsOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	boss := e.user("boss@example.com", "boss", true)
	ann := e.user("ann@example.com", "ann", true)
	invite(t, e, ann, "one@example.com")
	links := e.mint()
	res, err := e.store.Staff.SetInviting(ctx, boss.ID, ann.ID, false, "Too many bounces")
	if err != nil || res.UsersChanged != 1 {
		t.Fatalf("inviting off: %+v, %v", res, err)
	}
	_, _, err = e.store.Invitations.Create(ctx, ann.ID, "two@example.com", "", 0)
	if e, ok := models.AsError(err); !errors.Is(err, models.ErrInvitingDisabled) || !ok ||
		e.Text(models.Facts{}) != "Inviting is turned off for your account: Too many bounces" {
		t.Errorf("inviting while off: %v", err)
	}
	// A member already invited is still told so first (the checks' order).
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "one@example.com", "", 0); !errors.Is(err, models.ErrAlreadyInvited) {
		t.Errorf("re-invite while off: %v", err)
	}
	if _, err := e.store.Invitations.LookupToken(ctx, tokenOf(links[0])); err != nil {
		t.Errorf("a pending link stopped working: %v", err)
	}
	// The same reason again changes nothing; a new reason replaces it.
	if res, _ := e.store.Staff.SetInviting(ctx, boss.ID, ann.ID, false, "Too many bounces"); res.UsersChanged != 0 {
		t.Errorf("same reason again changed %d", res.UsersChanged)
	}
	if res, _ := e.store.Staff.SetInviting(ctx, boss.ID, ann.ID, false, "Bounces"); res.UsersChanged != 1 {
		t.Errorf("new reason changed %d", res.UsersChanged)
	}
	if res, err := e.store.Staff.SetInviting(ctx, boss.ID, ann.ID, true, ""); err != nil || res.UsersChanged != 1 {
		t.Fatalf("inviting on: %+v, %v", res, err)
	}
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "two@example.com", "", 0); err != nil {
		t.Errorf("inviting after on again: %v", err)
	}
	if eventCount(t, e, models.EventInvitingDisabled) != 2 || eventCount(t, e, models.EventInvitingEnabled) != 1 {
		t.Error("wrong number of inviting events")
	}
}

// tree builds root → a1, a2; a1 → b1; a2 → b2; b1 → c1 (four levels), plus
// an outsider, each with pending invitations, and returns them by name.
func tree(t *testing.T, e *env) map[string]models.User {
	t.Helper()
	users := map[string]models.User{}
	parent := map[string]string{"a1": "root", "a2": "root", "b1": "a1", "b2": "a2", "c1": "b1"}
	for _, name := range []string{"root", "a1", "a2", "b1", "b2", "c1", "out"} {
		u := e.user(name+"@example.com", name, true)
		if p, ok := parent[name]; ok {
			if _, err := e.db.Exec(`UPDATE users SET invited_by = ? WHERE id = ?`, users[p].ID, u.ID); err != nil {
				t.Fatal(err)
			}
		}
		users[name] = u
	}
	for _, name := range []string{"root", "a1", "b1", "b2", "c1", "out"} {
		invite(t, e, users[name], "x-"+name+"@example.com", "y-"+name+"@example.com")
	}
	return users
}

func TestSubtreePreviewEqualsWhatTheActionChanges(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	boss := e.user("boss@example.com", "boss", true)
	u := tree(t, e)
	// b2 is suspended already: the subtree suspension does not count them.
	if _, err := e.store.Staff.Suspend(ctx, boss.ID, u["b2"].ID, "earlier"); err != nil {
		t.Fatal(err)
	}
	// One of c1's invitations is overdue: it reads as expired, so it is not revoked.
	if _, err := e.db.Exec(`UPDATE invitations SET expires_at = 0 WHERE email_key = 'y-c1@example.com'`); err != nil {
		t.Fatal(err)
	}

	st, err := e.store.Staff.Subtree(ctx, u["root"].ID)
	if err != nil || st.Size != 5 || st.Depth != 3 || st.Suspended != 1 || fmt.Sprint(st.Names) != "[b2]" {
		t.Errorf("subtree %+v, %v", st, err)
	}
	if st, _ := e.store.Staff.Subtree(ctx, u["c1"].ID); st.Size != 0 || st.Depth != 0 {
		t.Errorf("a leaf's subtree %+v", st)
	}

	pre, err := e.store.Staff.PreviewSubtree(ctx, boss.ID, u["a1"].ID, models.SubtreeRevoke)
	if err != nil {
		t.Fatal(err)
	}
	// a1, b1 and c1 sent 2 each, one of c1's overdue.
	if pre.Members != 3 || pre.Invitations != 5 {
		t.Errorf("revoke preview %+v; want 3 members, 5 invitations", pre)
	}
	res, err := e.store.Staff.RevokeSubtree(ctx, boss.ID, u["a1"].ID, "Cleaning up")
	if err != nil {
		t.Fatal(err)
	}
	if res.UsersChanged != pre.Members || res.InvitationsRevoked != pre.Invitations {
		t.Errorf("revoke changed %+v; preview said %+v", res, pre)
	}
	if st, _ := e.store.Staff.Standing(ctx, u["a1"].ID); st.Suspended {
		t.Error("a revoke suspended someone")
	}

	pre, err = e.store.Staff.PreviewSubtree(ctx, boss.ID, u["root"].ID, models.SubtreeSuspend)
	if err != nil {
		t.Fatal(err)
	}
	// root, a1, a2, b1, c1 (b2 already); only root's 2 are still pending.
	if pre.Members != 5 || pre.Invitations != 2 {
		t.Errorf("suspend preview %+v; want 5 members, 2 invitations", pre)
	}
	before := eventCount(t, e, models.EventMemberSuspended)
	res, err = e.store.Staff.SuspendSubtree(ctx, boss.ID, u["root"].ID, "Ring of spammers")
	if err != nil {
		t.Fatal(err)
	}
	if res.UsersChanged != pre.Members || res.InvitationsRevoked != pre.Invitations {
		t.Errorf("suspend changed %+v; preview said %+v", res, pre)
	}
	if n := eventCount(t, e, models.EventMemberSuspended) - before; n != 5 {
		t.Errorf("%d member_suspended events; want 5", n)
	}
	for _, name := range []string{"root", "a1", "a2", "b1", "b2", "c1"} {
		if ok, _ := e.store.Staff.Suspended(ctx, u[name].ID); !ok {
			t.Errorf("@%s is not suspended", name)
		}
	}
	if ok, _ := e.store.Staff.Suspended(ctx, u["out"].ID); ok {
		t.Error("the outsider was suspended")
	}
	if st, _ := e.store.Staff.Standing(ctx, u["b2"].ID); st.SuspendedReason != "earlier" {
		t.Errorf("b2's earlier reason became %q", st.SuspendedReason)
	}
	var outPending int
	e.db.QueryRow(`SELECT count(*) FROM invitations WHERE inviter_id = ? AND status = 'pending'`, u["out"].ID).Scan(&outPending)
	if outPending != 2 {
		t.Errorf("the outsider has %d pending; want 2 untouched", outPending)
	}
	entries, _, err := e.store.Staff.Audit(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a := entries[0]; a.Action != models.ActionSubtreeSuspend || a.Reason != "Ring of spammers" ||
		a.UsersChanged != 5 || a.InvitationsChanged != 2 || a.TargetID != u["root"].ID {
		t.Errorf("audit entry %+v", a)
	}
	// c1's history shows the subtree suspension that suspended them.
	if h, _ := e.store.Staff.History(ctx, u["c1"].ID, 10); len(h) != 1 || h[0].Action != models.ActionSubtreeSuspend {
		t.Errorf("c1's history %+v", h)
	}
	// A second run changes nothing, and its preview says so.
	if pre, _ := e.store.Staff.PreviewSubtree(ctx, boss.ID, u["root"].ID, models.SubtreeSuspend); pre.Members != 0 || pre.Invitations != 0 {
		t.Errorf("preview after suspension %+v", pre)
	}
	checkCounters(t, e)
}

func TestSubtreeSuspensionLeavesTheActingStaffOut(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.user("root@example.com", "root", true)
	boss := e.user("boss@example.com", "boss", true)
	e.db.Exec(`UPDATE users SET invited_by = ? WHERE id = ?`, root.ID, boss.ID)
	pre, _ := e.store.Staff.PreviewSubtree(ctx, boss.ID, root.ID, models.SubtreeSuspend)
	res, err := e.store.Staff.SuspendSubtree(ctx, boss.ID, root.ID, "x")
	if err != nil || res.UsersChanged != 1 || pre.Members != 1 {
		t.Errorf("suspend %+v (preview %+v), %v; want root alone", res, pre, err)
	}
	if ok, _ := e.store.Staff.Suspended(ctx, boss.ID); ok {
		t.Error("staff suspended themselves through a subtree")
	}
}

func TestCheckReason(t *testing.T) {
	for _, tc := range []struct {
		reason   string
		required bool
		ok       bool
	}{
		{"", true, false}, {"", false, true}, {"spam", true, true},
		{string(make([]rune, 500)), true, false}, // NULs
		{fmt.Sprintf("%0500d", 0), true, true}, {fmt.Sprintf("%0501d", 0), true, false},
		{"two\nlines", true, true}, {"bidi \u202e", true, false},
	} {
		var v models.Validator
		models.CheckReason(&v, "reason", tc.reason, tc.required)
		if v.Valid() != tc.ok {
			t.Errorf("CheckReason(%.20q, %v) valid %v; want %v", tc.reason, tc.required, v.Valid(), tc.ok)
		}
	}
}

// TestSubtreeActionsReachWebhooksAndTheFeed: a subtree action writes its
// events with set-based statements instead of one by one; they must still
// reach every webhook that wants them, and the inviters' own feeds.
func TestSubtreeActionsReachWebhooksAndTheFeed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	boss := e.user("boss@example.com", "boss", true)
	u := tree(t, e)
	all, _, err := e.store.Webhooks.Create(ctx, boss.ID, "https://hooks.example.com/all", nil)
	if err != nil {
		t.Fatal(err)
	}
	revokes, _, err := e.store.Webhooks.Create(ctx, boss.ID, "https://hooks.example.com/revokes", []string{models.EventInvitationRevoked})
	if err != nil {
		t.Fatal(err)
	}
	var before int64
	e.db.QueryRow(`SELECT coalesce(max(id), 0) FROM events`).Scan(&before)
	res, err := e.store.Staff.SuspendSubtree(ctx, boss.ID, u["a1"].ID, "Spam ring")
	if err != nil {
		t.Fatal(err)
	}
	if res.UsersChanged == 0 || res.InvitationsRevoked == 0 {
		t.Fatalf("the subtree suspension changed nothing: %+v", res)
	}
	count := func(q string, args ...any) int {
		var n int
		if err := e.db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	events := count(`SELECT count(*) FROM events WHERE id > ?`, before)
	revoked := count(`SELECT count(*) FROM events WHERE id > ? AND kind = 'invitation_revoked'`, before)
	if revoked != res.InvitationsRevoked {
		t.Errorf("%d invitation_revoked events for %d revoked invitations", revoked, res.InvitationsRevoked)
	}
	if got := count(`SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ? AND event_id > ?`, all.ID, before); got != events {
		t.Errorf("the all-events endpoint got %d deliveries for %d events", got, events)
	}
	if got := count(`SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ? AND event_id > ?`, revokes.ID, before); got != revoked {
		t.Errorf("the revokes endpoint got %d deliveries for %d revocations", got, revoked)
	}
	feed, err := e.store.Events.Feed(ctx, u["b1"].ID, false, before, models.MaxFeedPage)
	if err != nil {
		t.Fatal(err)
	}
	mine := 0
	for _, ev := range feed {
		if ev.Kind == models.EventInvitationRevoked {
			mine++
		}
	}
	if mine != count(`SELECT count(*) FROM invitations WHERE inviter_id = ? AND status = 'revoked'`, u["b1"].ID) || mine == 0 {
		t.Errorf("b1's feed shows %d revocations of their invitations", mine)
	}
}

// GetWithStanding is Get and Standing in one read, for every signed-in
// request: the same user and the same standing as the two reads apart.
func TestGetWithStandingEqualsGetAndStanding(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	boss := e.user("boss@example.com", "boss", true)
	ann := e.user("ann@example.com", "ann", true)
	bob := e.user("bob@example.com", "bob", true)
	if _, err := e.store.Staff.SetInviting(ctx, boss.ID, ann.ID, false, "Too many bounces"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Staff.Suspend(ctx, boss.ID, bob.ID, "Spam"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{boss.ID, ann.ID, bob.ID} {
		u, st, err := e.store.Users.GetWithStanding(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wantU, _ := e.store.Users.Get(ctx, id)
		wantSt, _ := e.store.Staff.Standing(ctx, id)
		if fmt.Sprintf("%+v", u) != fmt.Sprintf("%+v", wantU) || st != wantSt {
			t.Errorf("user %d: %+v %+v; want %+v %+v", id, u, st, wantU, wantSt)
		}
	}
	if _, st, _ := e.store.Users.GetWithStanding(ctx, ann.ID); !st.InvitingOff || st.InvitingOffReason != "Too many bounces" || st.Suspended {
		t.Errorf("ann's standing %+v", st)
	}
	if _, st, _ := e.store.Users.GetWithStanding(ctx, bob.ID); !st.Suspended || st.SuspendedReason != "Spam" || !st.EverSuspended {
		t.Errorf("bob's standing %+v", st)
	}
	if _, _, err := e.store.Users.GetWithStanding(ctx, 9999); !errors.Is(err, models.ErrNoRecord) {
		t.Errorf("no such user: %v", err)
	}
}
