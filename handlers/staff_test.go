package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// staffClients signs in one user of each kind that the permission matrix
// covers, and returns their clients (nil for the anonymous visitor).
func staffClients(t *testing.T, app *testApp) map[string]*client {
	t.Helper()
	ctx := context.Background()
	clients := map[string]*client{"anonymous": app.client()}
	clients["member"], _ = app.member("member@example.com", "member")

	staff, _ := app.store.Users.Create(ctx, models.NewUser{Email: "staff@example.com", Username: "staff", Password: testPassword, Staff: true, Verified: true})
	_ = staff
	clients["staff flag"] = app.client()
	clients["staff flag"].login("staff", testPassword)

	app.store.Users.Create(ctx, models.NewUser{Email: "root@example.com", Username: "root", Password: testPassword, Superuser: true, Verified: true})
	clients["superuser"] = app.client()
	clients["superuser"].login("root", testPassword)

	app.user("mod@example.com", "mod", true)
	if _, err := app.store.Users.GrantManageInvites(ctx, "mod@example.com"); err != nil {
		t.Fatal(err)
	}
	clients["manage_invites"] = app.client()
	clients["manage_invites"].login("mod", testPassword)
	return clients
}

func TestStaffPermissionMatrix(t *testing.T) {
	app := newTestApp(t)
	clients := staffClients(t, app)
	target, _ := app.store.Users.GetByUsername(context.Background(), "member")
	stat := fmt.Sprintf("/staff/users/%d", target.ID)
	routes := []struct {
		method, path string
		form         url.Values
		ok           int // the status staff get
	}{
		{"GET", "/staff", nil, 200},
		{"GET", "/staff/confirm?kind=topoff&amount=1", nil, 200},
		{"POST", "/staff/topoff", url.Values{"amount": {"1"}}, 303},
		{"POST", "/staff/addto", url.Values{"amount": {"1"}}, 303},
		{"POST", "/staff/unlimited", url.Values{"unlimited": {"off"}, "amount": {"1"}}, 303},
		{"GET", "/staff/users", nil, 200},
		{"GET", stat + "/stat", nil, 200},
		{"POST", stat + "/topoff", url.Values{"amount": {"1"}}, 303},
		{"POST", stat + "/addto", url.Values{"amount": {"1"}}, 303},
		{"POST", stat + "/unlimited", url.Values{"unlimited": {"on"}}, 303},
		{"GET", "/staff/invitations", nil, 200},
		{"POST", "/staff/invitations/999/revoke", nil, 404},
		{"GET", "/staff/audit", nil, 200},
	}
	for _, rt := range routes {
		for who, c := range clients {
			var res response
			if rt.method == "GET" {
				res = c.get(rt.path)
			} else {
				res = c.post(rt.path, rt.form)
			}
			want := rt.ok
			switch who {
			case "anonymous":
				want = http.StatusSeeOther
			case "member":
				want = http.StatusForbidden
			}
			if res.status != want {
				t.Errorf("%s %s as %s: %d; want %d", rt.method, rt.path, who, res.status, want)
			}
			if who == "anonymous" && rt.method == "GET" && !strings.HasPrefix(res.header.Get("Location"), "/login?next=") {
				t.Errorf("%s as anonymous: sent to %q; want /login?next=…", rt.path, res.header.Get("Location"))
			}
		}
	}
}

func TestStaffBadAmountsAre422(t *testing.T) {
	app := newTestApp(t)
	clients := staffClients(t, app)
	boss := clients["superuser"]
	member, _ := app.store.Users.GetByUsername(context.Background(), "member")
	paths := []string{"/staff/topoff", "/staff/addto", fmt.Sprintf("/staff/users/%d/topoff", member.ID), fmt.Sprintf("/staff/users/%d/addto", member.ID)}
	bad := []url.Values{
		{}, {"amount": {""}}, {"amount": {"abc"}}, {"amount": {"1.5"}}, {"amount": {"1e3"}}, {"amount": {"-1"}}, {"amount": {"1000001"}},
	}
	for _, p := range paths {
		for _, form := range bad {
			for _, hx := range [][]string{nil, htmx} {
				res := boss.post(p, form, hx...)
				expect(t, fmt.Sprintf("POST %s %v (htmx %v)", p, form, hx != nil), res, http.StatusUnprocessableEntity, "Enter a whole number from")
			}
		}
	}
	expect(t, "addto 0", boss.post("/staff/addto", url.Values{"amount": {"0"}}), 422, "Enter a whole number from 1 to 1,000,000.")
	expect(t, "unlimited without a choice", boss.post("/staff/unlimited", url.Values{"amount": {"1"}}), 422, "Choose on or off.")
	expect(t, "unlimited off without amount", boss.post("/staff/unlimited", url.Values{"unlimited": {"off"}}), 422, "Enter a whole number from 0 to 1,000,000.")
	expect(t, "confirm page with a bad amount", boss.get("/staff/confirm?kind=addto&amount=x"), 422, "Enter a whole number")
	res := boss.post("/staff/topoff", url.Values{"amount": {" 4 "}}, htmx...)
	expect(t, "' 4 ' is 4", res, http.StatusOK, "Topped off", "to 4 invitations left.")

	// The message stands next to the field that was refused, with what was
	// typed: in the fragment, on the page without JavaScript, for one user
	// and for everyone.
	stat := fmt.Sprintf(`id="user-stat-%d"`, member.ID)
	res = boss.post(fmt.Sprintf("/staff/users/%d/addto", member.ID), url.Values{"amount": {"1.5"}})
	expect(t, "one user, no JavaScript", res, 422, "<html", stat, `value="1.5"`, `aria-invalid="true"`, `data-testid="amount-error">Enter a whole number from 1 to 1,000,000.<`)
	res = boss.post(fmt.Sprintf("/staff/users/%d/topoff", member.ID), url.Values{"amount": {"abc"}}, htmx...)
	expect(t, "one user, htmx", res, 422, stat, `value="abc"`, "Enter a whole number from 0 to 1,000,000.")
	if strings.Contains(res.body, "<html") {
		t.Error("the refused fragment is a whole page")
	}
	res = boss.post("/staff/addto", url.Values{"amount": {"1e3"}})
	expect(t, "everyone, no JavaScript", res, 422, "<html", `id="bulk-addto"`, `value="1e3"`, "Enter a whole number from 1 to 1,000,000.")
	if n, _, _ := app.store.Staff.Audit(context.Background(), 1, 100); len(n) != 1 {
		t.Errorf("%d audit entries after refused amounts; want 1 (the ' 4 ' top off)", len(n))
	}
}

func TestStaffBulkAnswersInPlaceOrWithFlash(t *testing.T) {
	app := newTestApp(t, withAllocation(0))
	clients := staffClients(t, app)
	boss := clients["staff flag"]
	res := boss.post("/staff/topoff", url.Values{"amount": {"3"}}, htmx...)
	expect(t, "htmx top off", res, http.StatusOK, `id="bulk-topoff"`, "Topped off 4 users to 3 invitations left.")
	if strings.Contains(res.body, "<html") {
		t.Error("htmx answer is a whole page")
	}
	res = boss.post("/staff/addto", url.Values{"amount": {"2"}})
	expect(t, "plain add", res, http.StatusSeeOther)
	expect(t, "flash", boss.get("/staff"), http.StatusOK, "Added 2 invitations to 4 users.", `data-testid="activity-chart"`, `data-testid="stat-members">4<`)
	expect(t, "member sees it", clients["member"].get("/"), http.StatusOK, `data-testid="invites-remaining">5</span>`)
	expect(t, "confirm page", boss.get("/staff/confirm?kind=unlimited&unlimited=on&amount="), http.StatusOK, "Every member gets unlimited invitations.")
	expect(t, "audit", boss.get("/staff/audit"), http.StatusOK, "Added 2 to every member", "Topped off every member to 3 remaining", "@staff")
}

func TestStaffUserStatFragment(t *testing.T) {
	app := newTestApp(t, withAllocation(1))
	clients := staffClients(t, app)
	boss := clients["manage_invites"]
	member, _ := app.store.Users.GetByUsername(context.Background(), "member")
	base := fmt.Sprintf("/staff/users/%d", member.ID)
	res := boss.get(base + "/stat")
	expect(t, "stat", res, http.StatusOK, fmt.Sprintf(`id="user-stat-%d"`, member.ID), `data-testid="stat-remaining">1<`,
		// Each amount has a visible label, and no placeholder that reads as a value.
		fmt.Sprintf(`<label for="user-stat-%d-topoff" class="text-sm text-gray-700">Top off to</label>`, member.ID),
		fmt.Sprintf(`<label for="user-stat-%d-addto" class="text-sm text-gray-700">Add</label>`, member.ID),
		fmt.Sprintf(`id="user-stat-%d-topoff"`, member.ID), fmt.Sprintf(`id="user-stat-%d-addto"`, member.ID))
	if strings.Contains(res.body, "placeholder=") {
		t.Error("a user's allocation forms carry a placeholder")
	}
	if strings.Contains(res.body, "<html") {
		t.Error("stat fragment is a whole page")
	}
	expect(t, "unknown user", boss.get("/staff/users/9999/stat"), http.StatusNotFound)
	expect(t, "bad id", boss.get("/staff/users/abc/stat"), http.StatusNotFound)
	expect(t, "add 4", boss.post(base+"/addto", url.Values{"amount": {"4"}}, htmx...), http.StatusOK, `data-testid="stat-remaining">5<`, "Added 4.")
	expect(t, "top off to 2 (already 5)", boss.post(base+"/topoff", url.Values{"amount": {"2"}}, htmx...), http.StatusOK,
		`data-testid="stat-remaining">5<`, "Nothing changed: 2 or more left already.")
	expect(t, "top off to 8", boss.post(base+"/topoff", url.Values{"amount": {"8"}}, htmx...), http.StatusOK,
		`data-testid="stat-remaining">8<`, "Topped off to 8 left.")
	expect(t, "unlimited on", boss.post(base+"/unlimited", url.Values{"unlimited": {"on"}}, htmx...), http.StatusOK,
		`data-testid="stat-remaining">Unlimited<`, "Unlimited invitations on.", `value="8" aria-label="Allocation when limited, for @member"`)
	expect(t, "unlimited on again", boss.post(base+"/unlimited", url.Values{"unlimited": {"on"}}, htmx...), http.StatusOK, "Nothing changed: unlimited already.")
	expect(t, "add to unlimited", boss.post(base+"/addto", url.Values{"amount": {"4"}}, htmx...), http.StatusOK, "Nothing changed: this member has unlimited invitations.")
	expect(t, "unlimited off at 2", boss.post(base+"/unlimited", url.Values{"unlimited": {"off"}, "amount": {"2"}}, htmx...), http.StatusOK,
		`data-testid="stat-remaining">2<`, "Unlimited off, allocation 2.")
	res = boss.post(base+"/addto", url.Values{"amount": {"1"}, "next": {"/staff/users?q=mem"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/staff/users?q=mem" {
		t.Errorf("plain post: %d to %q", res.status, res.header.Get("Location"))
	}
	expect(t, "search, and the flash", boss.get("/staff/users?q=MEM"), http.StatusOK, "@member", `data-testid="stat-remaining">3<`, "@member: Added 1.")
	expect(t, "search nobody", boss.get("/staff/users?q=zzz"), http.StatusOK, "No users match.")
}

func TestStaffInvitationsListAndRevoke(t *testing.T) {
	app := newTestApp(t)
	clients := staffClients(t, app)
	boss := clients["superuser"]
	member := clients["member"]
	member.post("/invitations", invite("bob@example.com", ""))
	m, _ := app.store.Users.GetByUsername(context.Background(), "member")
	inv := latestInvitation(t, app, m.ID)
	expect(t, "list", boss.get("/staff/invitations"), http.StatusOK, "bob@example.com", "@member")
	expect(t, "filter by inviter", boss.get("/staff/invitations?inviter=root"), http.StatusOK, "No invitations match.")
	expect(t, "filter by status", boss.get("/staff/invitations?status=pending&inviter=Member"), http.StatusOK, "bob@example.com")
	expect(t, "bad status", boss.get("/staff/invitations?status=gone"), http.StatusUnprocessableEntity)
	res := boss.post(fmt.Sprintf("/staff/invitations/%d/revoke", inv.ID), nil, htmx...)
	expect(t, "revoke", res, http.StatusOK, `data-status="revoked"`)
	expect(t, "revoke again", boss.post(fmt.Sprintf("/staff/invitations/%d/revoke", inv.ID), nil), http.StatusConflict)
	expect(t, "member got it back", member.get("/"), http.StatusOK, `data-testid="invites-remaining">5</span>`)
	expect(t, "audited", boss.get("/staff/audit"), http.StatusOK, "Revoked the invitation to bob@example.com", "@root")
}

// allocations reads every user's allocation, by username.
func allocations(t *testing.T, app *testApp) map[string]models.Allocation {
	t.Helper()
	rows, err := app.store.DB.Query(`SELECT username, allocated, unlimited, held, coalesce(c.accepted, 0)
		FROM users JOIN allocations a ON a.user_id = users.id LEFT JOIN invitation_counts c ON c.user_id = users.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]models.Allocation{}
	for rows.Next() {
		var name string
		var a models.Allocation
		rows.Scan(&name, &a.Allocated, &a.Unlimited, &a.Held, &a.Accepted)
		out[name] = a
	}
	return out
}

func TestPageFragmentAndCommandAgree(t *testing.T) {
	ops := []struct {
		name string
		form url.Values
		path string
		cmd  func(*testing.T, *testApp)
		want int // the member's allocation afterwards (3 allocated, 1 held before)
	}{
		{"top off", url.Values{"amount": {"7"}}, "/staff/topoff", func(t *testing.T, a *testApp) { a.store.Staff.TopOffAll(context.Background(), 0, 7) }, 8},
		{"add", url.Values{"amount": {"2"}}, "/staff/addto", func(t *testing.T, a *testApp) { a.store.Staff.AddToAll(context.Background(), 0, 2, false) }, 5},
		{"unlimited off", url.Values{"unlimited": {"off"}, "amount": {"1"}}, "/staff/unlimited", func(t *testing.T, a *testApp) {
			a.store.Staff.SetUnlimitedAll(context.Background(), 0, false, 1)
		}, 1},
	}
	for _, op := range ops {
		var states []map[string]models.Allocation
		for _, how := range []string{"page", "fragment", "command"} {
			app := newTestApp(t, withAllocation(3))
			clients := staffClients(t, app)
			m, _ := app.store.Users.GetByUsername(context.Background(), "member")
			app.store.Invitations.Create(context.Background(), m.ID, "friend@example.com", "", 0)
			switch how {
			case "page":
				clients["superuser"].post(op.path, op.form)
			case "fragment":
				clients["superuser"].post(op.path, op.form, htmx...)
			case "command":
				op.cmd(t, app)
			}
			state := allocations(t, app)
			if got := state["member"].Allocated; got != op.want {
				t.Errorf("%s by %s: member allocated %d; want %d", op.name, how, got, op.want)
			}
			states = append(states, state)
		}
		if fmt.Sprint(states[0]) != fmt.Sprint(states[1]) || fmt.Sprint(states[1]) != fmt.Sprint(states[2]) {
			t.Errorf("%s: page, fragment and command differ:\n%v\n%v\n%v", op.name, states[0], states[1], states[2])
		}
	}
}

func TestListPagesAnswerHtmxWithFragments(t *testing.T) {
	app := newTestApp(t)
	clients := staffClients(t, app)
	boss, member := clients["superuser"], clients["member"]
	member.post("/invitations", invite("bob@example.com", ""))
	for _, tc := range []struct {
		c    *client
		path string
		want string
	}{
		{member, "/invitations", `id="sent-list"`},
		{member, "/invitations?status=pending", "bob@example.com"},
		{boss, "/staff/users?q=mem", `id="staff-users"`},
		{boss, "/staff/invitations?status=pending", `id="staff-invitations"`},
	} {
		page := tc.c.get(tc.path)
		frag := tc.c.get(tc.path, htmx...)
		expect(t, tc.path+" (page)", page, http.StatusOK, "<html", tc.want)
		expect(t, tc.path+" (htmx)", frag, http.StatusOK, tc.want)
		if strings.Contains(frag.body, "<html") || !slices.Contains(frag.header.Values("Vary"), "HX-Request") {
			t.Errorf("%s: htmx answer is a whole page or lacks Vary: HX-Request (%q)", tc.path, frag.header.Values("Vary"))
		}
		boosted := tc.c.get(tc.path, "HX-Request", "true", "HX-Boosted", "true")
		expect(t, tc.path+" (boosted)", boosted, http.StatusOK, "<html")
	}
}

// nextLink returns the href of the link with rel="next" in body ("" if none).
var nextLinkRE = regexp.MustCompile(`href="([^"]*)"[^>]*rel="next"`)

func nextLink(body string) string {
	m := nextLinkRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestStaffListsPageByKeyset(t *testing.T) {
	app := newTestApp(t, withRates(0, 0), withAllocation(-1))
	clients := staffClients(t, app)
	boss := clients["superuser"]
	ctx := context.Background()
	ann := app.user("ann@example.com", "ann", true)
	for i := range 120 {
		if _, _, err := app.store.Invitations.Create(ctx, ann.ID, fmt.Sprintf("friend%03d@example.com", i), "", 0); err != nil {
			t.Fatal(err)
		}
	}
	// Invitations: newest first, 50 a page, with the filter kept.
	seen := map[string]bool{}
	path := "/staff/invitations?inviter=ann&status=pending"
	for pages := 1; ; pages++ {
		res := boss.get(path)
		expect(t, path, res, http.StatusOK)
		for _, m := range regexp.MustCompile(`>(friend\d+@example.com)<`).FindAllStringSubmatch(res.body, -1) {
			if seen[m[1]] {
				t.Errorf("%s listed twice", m[1])
			}
			seen[m[1]] = true
		}
		if path = nextLink(res.body); path == "" {
			if pages != 3 {
				t.Errorf("%d pages of invitations; want 3", pages)
			}
			break
		}
		if !strings.Contains(path, "inviter=ann") || !strings.Contains(path, "status=pending") || !strings.Contains(path, "before=") {
			t.Errorf("next page %q lost the filters", path)
		}
	}
	if len(seen) != 120 {
		t.Errorf("listed %d invitations; want 120", len(seen))
	}
	first := boss.get("/staff/invitations")
	if !strings.Contains(first.body, "friend119@example.com") || strings.Contains(first.body, "friend069@example.com") {
		t.Error("the first page is not the 50 newest")
	}

	// Users: a search pages on the key that matched.
	for i := range 60 {
		app.user(fmt.Sprintf("x%02d@example.com", i), fmt.Sprintf("zoe%02d", i), true)
	}
	var names []string
	path = "/staff/users?q=Zoe"
	for path != "" {
		res := boss.get(path)
		expect(t, path, res, http.StatusOK)
		for _, m := range regexp.MustCompile(`>@(zoe\d+)<`).FindAllStringSubmatch(res.body, -1) {
			names = append(names, m[1])
		}
		path = nextLink(res.body)
	}
	if len(names) != 60 || !slices.IsSorted(names) || names[0] != "zoe00" {
		t.Errorf("search pages listed %d users (%v…); want zoe00 to zoe59 in order", len(names), names[:min(3, len(names))])
	}
}

// TestStaffFormsChangeOnceForTheirKey: every staff allocation form carries
// an idempotency key made when it is rendered; sending the same form twice
// (a double click that got past the disabled button, the back button and
// submit again) answers as the first send did and changes nothing more.
func TestStaffFormsChangeOnceForTheirKey(t *testing.T) {
	app := newTestApp(t, withAllocation(0))
	clients := staffClients(t, app)
	boss := clients["staff flag"]
	keyRE := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)
	keysOf := func(body string) []string {
		var keys []string
		for _, m := range keyRE.FindAllStringSubmatch(body, -1) {
			keys = append(keys, m[1])
		}
		return keys
	}
	page := boss.get("/staff")
	keys := keysOf(page.body)
	if len(keys) != 3 || keys[0] == keys[1] || keys[1] == keys[2] {
		t.Fatalf("the dashboard's three forms carry keys %q; want three different ones", keys)
	}
	if again := keysOf(boss.get("/staff").body); slices.Equal(again, keys) {
		t.Errorf("two renders of the dashboard gave the same keys %q", keys)
	}
	addKey := keys[1] // the dashboard's order: top off, add to, unlimited
	form := url.Values{"amount": {"2"}, "idempotency_key": {addKey}}
	first := boss.post("/staff/addto", form, htmx...)
	expect(t, "first send", first, http.StatusOK, "Added 2 invitations to 4 users.")
	if next := keysOf(first.body); len(next) != 1 || next[0] == addKey {
		t.Errorf("the form after the change carries keys %q; want one new key", next)
	}
	expect(t, "same form again", boss.post("/staff/addto", form, htmx...), http.StatusOK, "Added 2 invitations to 4 users.")
	expect(t, "same form again, no JavaScript", boss.post("/staff/addto", form), http.StatusSeeOther)
	expect(t, "the member got 2, once", clients["member"].get("/"), http.StatusOK, `data-testid="invites-remaining">2</span>`)
	expect(t, "same key, other amount", boss.post("/staff/addto", url.Values{"amount": {"3"}, "idempotency_key": {addKey}}, htmx...),
		http.StatusUnprocessableEntity, "already made with other values")
	expect(t, "a key that cannot be one", boss.post("/staff/addto", url.Values{"amount": {"3"}, "idempotency_key": {"two words"}}, htmx...),
		http.StatusUnprocessableEntity, "An idempotency key is 1 to 255 visible ASCII characters.")
	expect(t, "no key: every send counts", boss.post("/staff/addto", url.Values{"amount": {"1"}}, htmx...), http.StatusOK, "Added 1 invitation to 4 users.")
	expect(t, "the member", clients["member"].get("/"), http.StatusOK, `data-testid="invites-remaining">3</span>`)

	// The no-JavaScript path carries the key through its confirmation page.
	confirm := boss.get("/staff/confirm?kind=addto&amount=5&idempotency_key=k-confirm")
	expect(t, "confirm page", confirm, http.StatusOK, `name="idempotency_key" value="k-confirm"`)
	for range 2 {
		expect(t, "confirmed", boss.post("/staff/addto", url.Values{"amount": {"5"}, "idempotency_key": {"k-confirm"}}), http.StatusSeeOther)
	}
	expect(t, "the member got 5, once", clients["member"].get("/"), http.StatusOK, `data-testid="invites-remaining">8</span>`)

	// A user's block: each of its forms has a key of its own.
	member, _ := app.store.Users.GetByUsername(context.Background(), "member")
	base := fmt.Sprintf("/staff/users/%d", member.ID)
	block := boss.get(base + "/stat")
	userKeys := keysOf(block.body)
	if len(userKeys) != 3 || userKeys[0] == userKeys[1] {
		t.Fatalf("a user's block carries keys %q; want one for each of its three forms", userKeys)
	}
	add := url.Values{"amount": {"4"}, "idempotency_key": {userKeys[1]}}
	expect(t, "add 4", boss.post(base+"/addto", add, htmx...), http.StatusOK, `data-testid="stat-remaining">12<`, "Added 4.")
	expect(t, "add 4 again, same form", boss.post(base+"/addto", add, htmx...), http.StatusOK, `data-testid="stat-remaining">12<`, "Added 4.")
	for _, path := range []string{"/staff/users?q=mem", base} {
		if keys := keysOf(boss.get(path).body); len(keys) != 3 || slices.Contains(keys, userKeys[1]) {
			t.Errorf("%s: keys %q; want three new ones", path, keys)
		}
	}
}
