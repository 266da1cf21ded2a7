package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var freshTokenRE = regexp.MustCompile(`data-testid="fresh-token-value">([A-Za-z0-9_-]{43})</textarea>`)

func TestSettingsTokens(t *testing.T) {
	app := newTestApp(t)
	ann, annUser := app.member("ann@example.com", "ann")
	bea, _ := app.member("bea@example.com", "bea")
	expect(t, "tokens page", ann.get("/settings/tokens"), http.StatusOK, "You have no API tokens.")
	expect(t, "no name", ann.post("/settings/tokens", url.Values{"name": {" "}}), http.StatusUnprocessableEntity, "Give the token a name")
	res := ann.post("/settings/tokens", url.Values{"name": {"CRM sync"}})
	expect(t, "create", res, http.StatusCreated, "Copy it now", "CRM sync", "never used")
	m := freshTokenRE.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no token shown:\n%s", mainPart(res.body))
	}
	token := m[1]
	if res.header.Get("Cache-Control") != "no-store" {
		t.Error("the page showing a token may be cached")
	}
	if page := ann.get("/settings/tokens"); strings.Contains(page.body, token) {
		t.Error("the token is shown a second time")
	}
	assertNoRawTokenInDB(t, app, token, "CRM sync")
	if status, body, _ := app.apiCall(t, "GET", "/api/v1/me", token, nil); status != 200 || body["user"].(map[string]any)["username"] != "ann" {
		t.Fatalf("token does not work: %d %v", status, body)
	}
	expect(t, "last used", ann.get("/settings/tokens"), http.StatusOK, "last used")

	list, _ := app.store.APITokens.List(context.Background(), annUser.ID)
	revoke := fmt.Sprintf("/settings/tokens/%d/revoke", list[0].ID)
	expect(t, "someone else's revoke", bea.post(revoke, nil), http.StatusNotFound)
	// Without confirm=yes (no JavaScript) the answer asks first, and revokes nothing.
	expect(t, "revoke, unconfirmed", ann.post(revoke, nil), http.StatusOK, `data-testid="token-revoke-confirm"`, "CRM sync", `name="confirm" value="yes"`)
	if status, _, _ := app.apiCall(t, "GET", "/api/v1/me", token, nil); status != 200 {
		t.Errorf("an unconfirmed revoke revoked the token: %d", status)
	}
	expect(t, "someone else's confirmed revoke", bea.post(revoke, url.Values{"confirm": {"yes"}}), http.StatusNotFound)
	expect(t, "revoke", ann.post(revoke, url.Values{"confirm": {"yes"}}), http.StatusSeeOther)
	if status, _, _ := app.apiCall(t, "GET", "/api/v1/me", token, nil); status != 401 {
		t.Errorf("revoked token answered %d", status)
	}
	expect(t, "cross-site create", ann.post("/settings/tokens", url.Values{"name": {"x"}}, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	expect(t, "signed out", app.client().get("/settings/tokens"), http.StatusSeeOther)
}
