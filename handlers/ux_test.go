package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// An htmx error the form cannot show goes to the page's status region, so it
// never replaces the form or row it came from: HX-Retarget, HX-Reswap.
func TestHtmxErrorsGoToTheStatusRegion(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	ann := app.client()
	ann.login("ann", testPassword)

	res := ann.post("/invitations/9999/resend", nil, htmx...)
	expect(t, "unknown row", res, http.StatusNotFound)
	if res.header.Get("HX-Retarget") != "#status-error" || res.header.Get("HX-Reswap") != "innerHTML" {
		t.Errorf("404 fragment: HX-Retarget %q, HX-Reswap %q", res.header.Get("HX-Retarget"), res.header.Get("HX-Reswap"))
	}
	if strings.Contains(res.body, "<li") || strings.Contains(res.body, "<html") {
		t.Errorf("404 fragment is not a message: %s", res.body)
	}

	// Without htmx it is the error page, with the way on.
	expect(t, "page", ann.post("/invitations/9999/resend", nil), http.StatusNotFound, `data-testid="error-page"`)

	// A 500: the store is closed under the handler.
	if err := app.store.Close(); err != nil {
		t.Fatal(err)
	}
	res = ann.post("/invitations", url.Values{"email": {"bob@example.com"}, "note": {"Hi"}}, htmx...)
	expect(t, "server error", res, http.StatusInternalServerError, "We could not complete that request.")
	if res.header.Get("HX-Retarget") != "#status-error" {
		t.Errorf("500 fragment: HX-Retarget %q", res.header.Get("HX-Retarget"))
	}
}

// A refused row action on a page says how to go on.
func TestErrorPagesOfferTheNextStep(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	ann := app.client()
	ann.login("ann", testPassword)
	expect(t, "refused row action", ann.post("/invitations/9999/revoke", nil), http.StatusNotFound,
		`href="/invitations" class="btn" data-testid="error-next">Back to your invitations</a>`)
	expect(t, "staff page as a member", ann.get("/staff"), http.StatusForbidden, `data-testid="error-next">Go to the home page</a>`)
}

// Every htmx action that succeeds says so in the status region.
func TestHtmxSuccessSaysWhatHappened(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	ann := app.client()
	ann.login("ann", testPassword)
	res := ann.post("/invitations", url.Values{"email": {"bob@example.com"}}, htmx...)
	expect(t, "invite", res, http.StatusOK, `<div id="status" hx-swap-oob="innerHTML"><p>Invitation sent to bob@example.com.</p></div>`,
		`<div id="status-error" hx-swap-oob="innerHTML"></div>`)
	inv, _, err := app.store.Invitations.List(context.Background(), listAll(1))
	if err != nil || len(inv) != 1 {
		t.Fatalf("invitations %v, %v", inv, err)
	}
	res = ann.post(fmt.Sprintf("/invitations/%d/revoke", inv[0].ID), nil, htmx...)
	expect(t, "revoke", res, http.StatusOK, "<p>Withdrew the invitation to bob@example.com; you have it back.</p>")
}

// The delivery badge asks for itself again while the email is on its way,
// and stops once it is final; only the inviter may ask.
func TestDeliveryFragmentPollsUntilFinal(t *testing.T) {
	app := newTestApp(t)
	app.user("ann@example.com", "ann", true)
	app.user("cara@example.com", "cara", true)
	ann := app.client()
	ann.login("ann", testPassword)
	expect(t, "invite", ann.post("/invitations", url.Values{"email": {"bob@example.com"}}, htmx...), http.StatusOK)
	invs, _, err := app.store.Invitations.List(context.Background(), listAll(1))
	if err != nil || len(invs) != 1 {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/invitations/%d/delivery", invs[0].ID)
	expect(t, "queued", ann.get(path, htmx...), http.StatusOK, `hx-trigger="every 2s"`, "email queued")
	app.deliver()
	res := ann.get(path, htmx...)
	expect(t, "sent", res, http.StatusOK, "email sent")
	if strings.Contains(res.body, "hx-trigger") {
		t.Errorf("a final state still polls: %s", res.body)
	}
	cara := app.client()
	cara.login("cara", testPassword)
	expect(t, "someone else's", cara.get(path, htmx...), http.StatusNotFound)
	expect(t, "unknown", ann.get("/invitations/99999/delivery", htmx...), http.StatusNotFound)
}

// listAll is a filter for the first perPage invitations of everyone.
func listAll(perPage int) models.ListFilter { return models.ListFilter{Page: 1, PerPage: perPage} }
