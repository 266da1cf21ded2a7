package handlers_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
)

// feedPage reads one page of the events feed and returns the events' ids
// and types, and next_cursor ("" for null).
func feedPage(t *testing.T, app *testApp, token, query string) (ids []int64, types []string, next string) {
	t.Helper()
	status, body, _ := app.apiCall(t, "GET", "/api/v1/events"+query, token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/events%s: %d %v", query, status, body)
	}
	evs, _ := body["events"].([]any)
	for _, e := range evs {
		ev := e.(map[string]any)
		ids = append(ids, int64(ev["id"].(float64)))
		types = append(types, ev["type"].(string))
	}
	next, _ = body["next_cursor"].(string)
	return ids, types, next
}

func TestEventsFeedPagesSeeEveryEventOnce(t *testing.T) {
	app := newTestApp(t, withAllocation(10))
	_, staffUser := staffClient(t, app)
	token := app.tokenFor(t, staffUser)
	ann := app.user("ann@example.com", "ann", true)
	ctx := context.Background()
	for i := range 7 {
		if _, _, err := app.store.Invitations.CreateFrom(ctx, ann, "friend"+strconv.Itoa(i)+"@example.com", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	var all []int64
	after, pages := "", 0
	for {
		q := "?limit=3"
		if after != "" {
			q += "&after=" + after
		}
		ids, _, next := feedPage(t, app, token, q)
		pages++
		all = append(all, ids...)
		if next == "" {
			break
		}
		if want := strconv.FormatInt(ids[len(ids)-1], 10); next != want {
			t.Errorf("next_cursor %q; want the last id %s", next, want)
		}
		after = next
		if pages > 10 {
			t.Fatal("the cursor never ends")
		}
	}
	if len(all) != 7 || pages != 3 {
		t.Fatalf("saw %d events in %d pages; want 7 in 3", len(all), pages)
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Errorf("event %d after %d", all[i], all[i-1])
		}
	}
	// Polling from the last id sees nothing new, then the next event.
	last := strconv.FormatInt(all[len(all)-1], 10)
	if ids, _, next := feedPage(t, app, token, "?after="+last); len(ids) != 0 || next != "" {
		t.Errorf("after the last: %v, %q", ids, next)
	}
	if _, _, err := app.store.Invitations.CreateFrom(ctx, ann, "late@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	if ids, types, _ := feedPage(t, app, token, "?after="+last); len(ids) != 1 || types[0] != "invite_sent" {
		t.Errorf("the new event: %v %v", ids, types)
	}
	// The default page is 50.
	if ids, _, next := feedPage(t, app, token, ""); len(ids) != 8 || next != "" {
		t.Errorf("default page: %d events, next %q", len(ids), next)
	}
}

func TestEventsFeedScope(t *testing.T) {
	app := newTestApp(t, withAllocation(10))
	_, staffUser := staffClient(t, app)
	ann := app.user("ann@example.com", "ann", true)
	bob := app.user("bob@example.com", "bob", true)
	ctx := context.Background()
	a1, _, err := app.store.Invitations.CreateFrom(ctx, ann, "one@example.com", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.store.Invitations.CreateFrom(ctx, bob, "two@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	// Staff revoke ann's invitation: made by staff, but about ann's invitation.
	if _, err := app.store.Invitations.RevokeAsStaff(ctx, staffUser.ID, a1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := app.store.Staff.TopOffAll(ctx, staffUser.ID, 20); err != nil {
		t.Fatal(err)
	}

	_, annTypes, _ := feedPage(t, app, app.tokenFor(t, ann), "")
	if len(annTypes) != 2 || annTypes[0] != "invite_sent" || annTypes[1] != "invitation_revoked" {
		t.Errorf("ann sees %v; want her invite_sent and its invitation_revoked", annTypes)
	}
	_, bobTypes, _ := feedPage(t, app, app.tokenFor(t, bob), "")
	if len(bobTypes) != 1 || bobTypes[0] != "invite_sent" {
		t.Errorf("bob sees %v; want his one invite_sent", bobTypes)
	}
	_, staffTypes, _ := feedPage(t, app, app.tokenFor(t, staffUser), "")
	if len(staffTypes) != 4 || staffTypes[3] != "allocation_changed" {
		t.Errorf("staff see %v; want all four", staffTypes)
	}
}

func TestEventsFeedRefusesBadParameters(t *testing.T) {
	app := newTestApp(t)
	ann := app.user("ann@example.com", "ann", true)
	token := app.tokenFor(t, ann)
	for _, c := range []struct{ query, field string }{
		{"?limit=0", "limit"},
		{"?limit=101", "limit"},
		{"?limit=x", "limit"},
		{"?after=-1", "after"},
		{"?after=abc", "after"},
	} {
		status, body, _ := app.apiCall(t, "GET", "/api/v1/events"+c.query, token, nil)
		if status != http.StatusUnprocessableEntity || errCode(body) != "validation_failed" || fieldMsg(body, c.field) == "" {
			t.Errorf("%s: %d %v; want 422 on %s", c.query, status, body, c.field)
		}
	}
	if status, _, _ := app.apiCall(t, "GET", "/api/v1/events", "", nil); status != http.StatusUnauthorized {
		t.Errorf("no token: %d", status)
	}
	if status, body, _ := app.apiCall(t, "GET", "/api/v1/events?limit=100", token, nil); status != http.StatusOK {
		t.Errorf("limit=100: %d %v", status, body)
	}
}
