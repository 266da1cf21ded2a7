package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/models"
)

// openAPI is the served OpenAPI document, loaded and checked once.
var openAPI = sync.OnceValues(func() (routers.Router, error) {
	app := newTestApp(&testing.T{})
	res, err := http.Get(app.srv.URL + "/api/v1/openapi.json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the document is not valid OpenAPI: %w", err)
	}
	// Match requests on any host: the test server's address changes.
	doc.Servers = nil
	return legacy.NewRouter(doc)
})

// apiCall sends one API request and checks the answer against the OpenAPI
// document: its status must be documented for the operation and its body
// must match the schema.
func (a *testApp) apiCall(t *testing.T, method, path, token string, body any, headers ...string) (int, map[string]any, http.Header) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, bytes.NewReader(raw))
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	validateAgainstOpenAPI(t, method, path, res, out)
	var parsed map[string]any
	if err := json.Unmarshal(out, &parsed); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %q", method, path, out)
	}
	return res.StatusCode, parsed, res.Header
}

func validateAgainstOpenAPI(t *testing.T, method, path string, res *http.Response, body []byte) {
	t.Helper()
	router, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://beckon.test" + path)
	req := &http.Request{Method: method, URL: u, Header: http.Header{}}
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s is not in the OpenAPI document: %v", method, path, err)
		return
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		t.Errorf("%s %s answered %d, which does not match the OpenAPI document: %v\nbody: %s", method, path, res.StatusCode, err, body)
	}
}

// errCode is the error code of an error answer.
func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func fieldMsg(body map[string]any, field string) string {
	e, _ := body["error"].(map[string]any)
	fields, _ := e["fields"].(map[string]any)
	msgs, _ := fields[field].([]any)
	if len(msgs) == 0 {
		return ""
	}
	s, _ := msgs[0].(string)
	return s
}

// tokenFor makes an API token for an existing user.
func (a *testApp) tokenFor(t *testing.T, u models.User) string {
	t.Helper()
	token, _, err := a.store.APITokens.Create(context.Background(), u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestAPIAuthentication(t *testing.T) {
	app := newTestApp(t)
	ann := app.user("ann@example.com", "ann", true)
	token := app.tokenFor(t, ann)
	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{"no header", "", 401},
		{"not bearer", "Basic YW5uOnB3", 401},
		{"junk token", "Bearer nope", 401},
		{"unknown token", "Bearer " + strings.Repeat("A", 43), 401},
		{"good token", "Bearer " + token, 200},
		{"the scheme in any case", "bearer " + token, 200},
		{"the scheme in capitals", "BEARER " + token, 200},
		{"a token and no scheme", token, 401},
		{"another scheme with the token", "Token " + token, 401},
	} {
		status, body, hdr := app.apiCall(t, "GET", "/api/v1/me", "", nil, "Authorization", tc.auth)
		if status != tc.status {
			t.Errorf("%s: %d; want %d (%v)", tc.name, status, tc.status, body)
		}
		if status == 401 && (errCode(body) != "unauthorized" || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer")) {
			t.Errorf("%s: %v, WWW-Authenticate %q", tc.name, body, hdr.Get("WWW-Authenticate"))
		}
	}
	// A revoked token stops working.
	list, _ := app.store.APITokens.List(context.Background(), ann.ID)
	app.store.APITokens.Revoke(context.Background(), ann.ID, list[0].ID)
	if status, _, _ := app.apiCall(t, "GET", "/api/v1/me", token, nil); status != 401 {
		t.Errorf("revoked token: %d", status)
	}
	// The database holds only the token's hash.
	var n int
	app.store.DB.QueryRow(`SELECT count(*) FROM api_tokens WHERE instr(CAST(token_hash AS TEXT), ?) > 0 OR instr(name, ?) > 0`, token, token).Scan(&n)
	if n != 0 {
		t.Error("raw API token stored")
	}
}

func TestAPIMe(t *testing.T) {
	app := newTestApp(t, withAllocation(3))
	ann := app.user("ann@example.com", "ann", true)
	status, body, _ := app.apiCall(t, "GET", "/api/v1/me", app.tokenFor(t, ann), nil)
	if status != 200 {
		t.Fatal(status, body)
	}
	user := body["user"].(map[string]any)
	alloc := body["allocation"].(map[string]any)
	if user["username"] != "ann" || user["staff"] != false || alloc["remaining"] != 3.0 || alloc["unlimited"] != false {
		t.Errorf("me = %v", body)
	}
	app.store.Staff.SetUnlimitedUser(context.Background(), 0, ann.ID, true, 0)
	_, body, _ = app.apiCall(t, "GET", "/api/v1/me", app.tokenFor(t, ann), nil)
	if a := body["allocation"].(map[string]any); a["remaining"] != nil || a["unlimited"] != true {
		t.Errorf("unlimited allocation = %v; want remaining null", a)
	}
}

func TestAPIInviteAnswers(t *testing.T) {
	// The member and duplicate refusals count towards the hourly limit too.
	app := newTestApp(t, withAllocation(2), withRates(5, 0))
	ann := app.user("ann@example.com", "ann", true)
	una := app.user("una@example.com", "una", false)
	app.user("member@example.com", "member", true)
	token := app.tokenFor(t, ann)
	for _, tc := range []struct {
		name   string
		token  string
		body   any
		ctype  string
		status int
		code   string
		field  string
		msg    string
	}{
		{"no body", token, "", "", 400, "invalid_json", "", ""},
		{"not json", token, "email=x", "", 400, "invalid_json", "", ""},
		{"wrong content type", token, `{"email":"a@example.com"}`, "text/plain", 415, "unsupported_media_type", "", ""},
		{"unknown field", token, `{"email":"a@example.com","admin":true}`, "", 400, "unknown_field", "", ""},
		{"trailing data", token, `{"email":"a@example.com"} {}`, "", 400, "invalid_json", "", ""},
		{"wrong type", token, `{"email":42}`, "", 422, "validation_failed", "email", "This field has the wrong type."},
		{"too large", token, `{"email":"a@example.com","note":"` + strings.Repeat("x", 20000) + `"}`, "", 413, "body_too_large", "", ""},
		{"empty email", token, map[string]any{"email": ""}, "", 422, "validation_failed", "email", "Enter an email address."},
		{"bad email", token, map[string]any{"email": "nope"}, "", 422, "validation_failed", "email", "Enter a valid email address."},
		{"long note", token, map[string]any{"email": "a@example.com", "note": strings.Repeat("n", 501)}, "", 422, "validation_failed", "note", "Keep the note to 500 characters."},
		{"fractional expiry", token, `{"email":"a@example.com","expires_in_hours":1.5}`, "", 422, "validation_failed", "expires_in_hours", "Give a whole number of hours from 1 to 8760."},
		{"expiry as string", token, `{"email":"a@example.com","expires_in_hours":"24"}`, "", 422, "validation_failed", "expires_in_hours", "Give a whole number of hours from 1 to 8760."},
		{"member", token, map[string]any{"email": "MEMBER@example.com"}, "", 422, "already_member", "email", "MEMBER@example.com is already a member."},
		{"unverified", app.legacyTokenFor(t, una), map[string]any{"email": "a@example.com"}, "", 403, "email_not_verified", "", ""},
		{"ok", token, map[string]any{"email": "Bob@Example.com", "note": "hi", "expires_in_hours": 48}, "", 201, "", "", ""},
		{"duplicate", token, map[string]any{"email": "bob@example.com"}, "", 422, "already_invited", "email", "You have already invited bob@example.com."},
		{"second", token, map[string]any{"email": "cid@example.com"}, "", 201, "", "", ""},
		{"none left", token, map[string]any{"email": "dan@example.com"}, "", 422, "no_invitations_left", "email", "You have no invitations left."},
	} {
		var headers []string
		if tc.ctype != "" {
			headers = []string{"Content-Type", tc.ctype}
		}
		status, body, _ := app.apiCall(t, "POST", "/api/v1/invite/", tc.token, tc.body, headers...)
		if status != tc.status || errCode(body) != tc.code || fieldMsg(body, tc.field) != tc.msg {
			t.Errorf("%s: %d %s %q; want %d %s %q (%v)", tc.name, status, errCode(body), fieldMsg(body, tc.field), tc.status, tc.code, tc.msg, body)
		}
		if tc.name == "ok" {
			inv := body["invitation"].(map[string]any)
			if inv["email"] != "Bob@Example.com" || inv["status"] != "pending" || inv["invitee"] != nil || body["invitations_remaining"] != 1.0 {
				t.Errorf("created %v", body)
			}
			if inv["expires_at"] != "2026-11-04T09:00:00Z" {
				t.Errorf("expires_at %v; want 48 hours on", inv["expires_at"])
			}
		}
	}
}

func TestAPIRateLimit(t *testing.T) {
	app := newTestApp(t, withAllocation(-1), withRates(1, 0))
	ann := app.user("ann@example.com", "ann", true)
	token := app.tokenFor(t, ann)
	app.apiCall(t, "POST", "/api/v1/invite/", token, map[string]any{"email": "a@example.com"})
	status, body, hdr := app.apiCall(t, "POST", "/api/v1/invite/", token, map[string]any{"email": "b@example.com"})
	if status != 429 || errCode(body) != "rate_limited" || hdr.Get("Retry-After") == "" {
		t.Errorf("%d %v Retry-After %q", status, body, hdr.Get("Retry-After"))
	}
}

func TestAPIInvitationsListShowRevokeResend(t *testing.T) {
	app := newTestApp(t, withAllocation(-1), withRates(0, 0))
	ann := app.user("ann@example.com", "ann", true)
	bea := app.user("bea@example.com", "bea", true)
	token, beaToken := app.tokenFor(t, ann), app.tokenFor(t, bea)
	for i := range 55 {
		app.store.Invitations.Create(context.Background(), ann.ID, fmt.Sprintf("f%02d@example.com", i), "", 0)
	}
	status, body, _ := app.apiCall(t, "GET", "/api/v1/invitations", token, nil)
	invs := body["invitations"].([]any)
	if status != 200 || len(invs) != 50 || body["next_cursor"] == nil || invs[0].(map[string]any)["email"] != "f54@example.com" {
		t.Fatalf("page 1: %d, %d items, cursor %v", status, len(invs), body["next_cursor"])
	}
	_, body, _ = app.apiCall(t, "GET", "/api/v1/invitations?cursor="+body["next_cursor"].(string), token, nil)
	if invs := body["invitations"].([]any); len(invs) != 5 || body["next_cursor"] != nil {
		t.Errorf("page 2: %d items, cursor %v", len(invs), body["next_cursor"])
	}
	for _, q := range []string{"?status=gone", "?cursor=abc"} {
		if status, body, _ := app.apiCall(t, "GET", "/api/v1/invitations"+q, token, nil); status != 422 {
			t.Errorf("%s: %d %v", q, status, body)
		}
	}
	first := latestInvitation(t, app, ann.ID)
	path := fmt.Sprintf("/api/v1/invitations/%d", first.ID)
	for _, tc := range []struct {
		method, path, token string
		status              int
		code                string
	}{
		{"GET", path, beaToken, 404, "not_found"},
		{"DELETE", path, beaToken, 404, "not_found"},
		{"POST", path + "/resend", beaToken, 404, "not_found"},
		{"GET", "/api/v1/invitations/99999", token, 404, "not_found"},
		{"GET", "/api/v1/invitations/abc", token, 404, "not_found"},
		{"GET", path, token, 200, ""},
		{"POST", path + "/resend", token, 200, ""},
		{"POST", path + "/resend", token, 429, "rate_limited"},
		{"DELETE", path, token, 200, ""},
		{"DELETE", path, token, 409, "not_pending"},
		{"POST", path + "/resend", token, 409, "not_pending"},
	} {
		status, body, _ := app.apiCall(t, tc.method, tc.path, tc.token, nil)
		if status != tc.status || errCode(body) != tc.code {
			t.Errorf("%s %s: %d %s; want %d %s (%v)", tc.method, tc.path, status, errCode(body), tc.status, tc.code, body)
		}
	}
	_, body, _ = app.apiCall(t, "GET", "/api/v1/invitations?status=revoked", token, nil)
	if invs := body["invitations"].([]any); len(invs) != 1 {
		t.Errorf("revoked filter: %d", len(invs))
	}
}

func TestAPIStaffEndpoints(t *testing.T) {
	app := newTestApp(t, withAllocation(1))
	ctx := context.Background()
	boss, _ := app.store.Users.Create(ctx, models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true})
	ann := app.user("ann@example.com", "ann", true)
	staff, member := app.tokenFor(t, boss), app.tokenFor(t, ann)
	annPath := fmt.Sprintf("/api/v1/staff/users/%d", ann.ID)
	for _, tc := range []struct {
		method, path, token string
		body                any
		status              int
		code                string
		changed             float64
	}{
		{"POST", "/api/v1/staff/topoff", member, map[string]any{"amount": 5}, 403, "forbidden", 0},
		{"GET", "/api/v1/staff/stats", member, nil, 403, "forbidden", 0},
		{"POST", "/api/v1/staff/topoff", staff, `{"amount":1.5}`, 422, "validation_failed", 0},
		{"POST", "/api/v1/staff/topoff", staff, `{"amount":"4"}`, 422, "validation_failed", 0},
		{"POST", "/api/v1/staff/topoff", staff, `{"amount":1e3}`, 422, "validation_failed", 0},
		{"POST", "/api/v1/staff/topoff", staff, `{"amount":-1}`, 422, "validation_failed", 0},
		{"POST", "/api/v1/staff/topoff", staff, `{"amount":1000001}`, 422, "validation_failed", 0},
		{"POST", "/api/v1/staff/topoff", staff, `{}`, 422, "validation_failed", 0},
		{"POST", "/api/v1/staff/addto", staff, `{"amount":0}`, 422, "validation_failed", 0},
		{"POST", "/api/v1/staff/topoff", staff, map[string]any{"amount": 5}, 200, "", 2},
		{"POST", "/api/v1/staff/topoff", staff, map[string]any{"amount": 5}, 200, "", 0},
		{"POST", "/api/v1/staff/addto", staff, map[string]any{"amount": 2}, 200, "", 2},
		{"POST", annPath + "/addto", staff, map[string]any{"amount": 3}, 200, "", 1},
		{"POST", annPath + "/topoff", staff, map[string]any{"amount": 1}, 200, "", 0},
		{"POST", "/api/v1/staff/users/9999/addto", staff, map[string]any{"amount": 3}, 404, "not_found", 0},
	} {
		status, body, _ := app.apiCall(t, tc.method, tc.path, tc.token, tc.body)
		if status != tc.status || errCode(body) != tc.code || (status == 200 && body["users_changed"] != tc.changed) {
			t.Errorf("%s %s %v: %d %s %v; want %d %s %v", tc.method, tc.path, tc.body, status, errCode(body), body["users_changed"], tc.status, tc.code, tc.changed)
		}
	}
	status, body, _ := app.apiCall(t, "GET", annPath+"/stat", staff, nil)
	if status != 200 || body["remaining"] != 10.0 || body["allocated"] != 10.0 {
		t.Errorf("stat: %d %v; want 10 remaining (5 topped off, +2, +3)", status, body)
	}
	status, body, _ = app.apiCall(t, "GET", "/api/v1/staff/stats", staff, nil)
	if status != 200 || body["members"] != 2.0 || len(body["days"].([]any)) != models.ChartDays {
		t.Errorf("stats: %d %v", status, body)
	}
	if status, _, _ := app.apiCall(t, "GET", "/api/v1/staff/users/9999/stat", staff, nil); status != 404 {
		t.Errorf("stat of nobody: %d", status)
	}
}

// TestAPIStaffIdempotencyKey: a staff change retried with the same
// Idempotency-Key answers as the first did and changes nothing more.
func TestAPIStaffIdempotencyKey(t *testing.T) {
	app := newTestApp(t, withAllocation(1))
	ctx := context.Background()
	boss, _ := app.store.Users.Create(ctx, models.NewUser{Email: "boss@example.com", Username: "boss", Password: testPassword, Staff: true, Verified: true})
	ann := app.user("ann@example.com", "ann", true)
	staff := app.tokenFor(t, boss)
	annPath := fmt.Sprintf("/api/v1/staff/users/%d", ann.ID)
	remaining := func() any {
		_, body, _ := app.apiCall(t, "GET", annPath+"/stat", staff, nil)
		return body["remaining"]
	}
	for range 3 {
		status, body, _ := app.apiCall(t, "POST", "/api/v1/staff/addto", staff, map[string]any{"amount": 2}, "Idempotency-Key", "retry-1")
		if status != 200 || body["users_changed"] != 2.0 {
			t.Fatalf("keyed add: %d %v; want 200 and 2 users changed each time", status, body)
		}
	}
	if got := remaining(); got != 3.0 {
		t.Fatalf("remaining %v after three sends of one keyed add of 2; want 3", got)
	}
	for _, tc := range []struct {
		path, key string
		amount    int
		code      string
	}{
		{"/api/v1/staff/addto", "retry-1", 3, "idempotency_key_reused"},
		{"/api/v1/staff/topoff", "retry-1", 2, "idempotency_key_reused"},
		{annPath + "/addto", "retry-1", 2, "idempotency_key_reused"},
		{"/api/v1/staff/addto", "with space", 1, "invalid_idempotency_key"},
		{annPath + "/topoff", strings.Repeat("k", 256), 9, "invalid_idempotency_key"},
	} {
		status, body, _ := app.apiCall(t, "POST", tc.path, staff, map[string]any{"amount": tc.amount}, "Idempotency-Key", tc.key)
		if status != 422 || errCode(body) != tc.code {
			t.Errorf("%s with key %.20q: %d %s; want 422 %s", tc.path, tc.key, status, errCode(body), tc.code)
		}
	}
	if got := remaining(); got != 3.0 {
		t.Errorf("remaining %v after refused keys; want 3", got)
	}
	status, body, _ := app.apiCall(t, "POST", annPath+"/topoff", staff, map[string]any{"amount": 7}, "Idempotency-Key", "retry-2")
	if status != 200 || body["users_changed"] != 1.0 || remaining() != 7.0 {
		t.Errorf("a new key: %d %v, remaining %v; want 1 user changed and 7 left", status, body, remaining())
	}
}

// TestDRFSimpleInviteFlow is the seed's flow end to end: invite by email,
// take the token from the email, set a password with it, sign in with that
// password in the browser form.
func TestDRFSimpleInviteFlow(t *testing.T) {
	app := newTestApp(t)
	ann := app.user("ann@example.com", "ann", true)
	var events []string
	app.store.Events.Subscribe(func(ev models.Event) { events = append(events, ev.Kind) })
	if status, body, _ := app.apiCall(t, "POST", "/api/v1/invite/", app.tokenFor(t, ann), map[string]any{"email": "Bob.Smith+x@Example.com"}); status != 201 {
		t.Fatal(status, body)
	}
	token := strings.TrimPrefix(linkIn(t, app.lastMailTo("Bob.Smith+x@Example.com"), "/join/"), "/join/")
	path := "/api/v1/invite/" + token

	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"weak password", map[string]any{"password": "short"}, 422, "validation_failed"},
		{"password is the email", map[string]any{"password": "bob.smith+x@example.com"}, 422, "validation_failed"},
		{"bad username", map[string]any{"password": testPassword, "username": "B"}, 422, "validation_failed"},
		{"taken username", map[string]any{"password": testPassword, "username": "ann"}, 422, "username_taken"},
		{"unknown field", `{"password":"x","email":"evil@example.com"}`, 400, "unknown_field"},
	} {
		status, body, _ := app.apiCall(t, "POST", path, "", tc.body)
		if status != tc.status || errCode(body) != tc.code {
			t.Errorf("%s: %d %v", tc.name, status, body)
		}
	}
	status, body, _ := app.apiCall(t, "POST", path, "", map[string]any{"password": "bobs new password", "name": "Bob"})
	if status != 201 {
		t.Fatalf("join: %d %v", status, body)
	}
	user := body["user"].(map[string]any)
	if user["email"] != "Bob.Smith+x@Example.com" || user["username"] != "bobsmithx" || user["name"] != "Bob" {
		t.Errorf("joined as %v", user)
	}
	bob, _ := app.store.Users.GetByUsername(context.Background(), "bobsmithx")
	if !bob.Verified() || bob.InvitedBy != ann.ID {
		t.Errorf("bob %+v; want verified and invited by ann", bob)
	}
	if fmt.Sprint(events) != "[invite_sent invite_accepted password_set]" {
		t.Errorf("events %v", events)
	}
	app.client().login("bob.smith+x@example.com", "bobs new password")

	if status, body, _ := app.apiCall(t, "POST", path, "", map[string]any{"password": "another password"}); status != 410 || errCode(body) != "invitation_used" {
		t.Errorf("token used twice: %d %v", status, body)
	}
	if status, _, _ := app.apiCall(t, "POST", "/api/v1/invite/"+strings.Repeat("A", 43), "", map[string]any{"password": testPassword}); status != 404 {
		t.Errorf("unknown token: %d", status)
	}

	// An expired token answers 410.
	app.apiCall(t, "POST", "/api/v1/invite/", app.tokenFor(t, ann), map[string]any{"email": "cid@example.com"})
	cid := strings.TrimPrefix(linkIn(t, app.lastMailTo("cid@example.com"), "/join/"), "/join/")
	app.clock.Advance(169 * 60 * 60 * 1e9)
	status, body, _ = app.apiCall(t, "POST", "/api/v1/invite/"+cid, "", map[string]any{"password": testPassword})
	if status != 410 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "expired") {
		t.Errorf("expired token: %d %v", status, body)
	}
	if strings.Contains(app.logs.String(), token) || strings.Contains(app.logs.String(), cid) {
		t.Error("an invitation token reached the log")
	}
}

// TestAPIAndBrowserAgree sends the same invitations through the form and
// the API: the same answers, the same state.
func TestAPIAndBrowserAgree(t *testing.T) {
	app := newTestApp(t, withAllocation(2))
	ann, annUser := app.member("ann@example.com", "ann")
	bea := app.user("bea@example.com", "bea", true)
	beaToken := app.tokenFor(t, bea)
	app.user("member@example.com", "member", true)
	for _, email := range []string{"x@example.com", "X@EXAMPLE.com", "member@example.com", "y@example.com", "z@example.com"} {
		page := ann.post("/invitations", invite(email, ""), htmx...)
		status, body, _ := app.apiCall(t, "POST", "/api/v1/invite/", beaToken, map[string]any{"email": email})
		pageOK, apiOK := page.status == 200, status == 201
		if pageOK != apiOK {
			t.Errorf("%s: page %d, API %d", email, page.status, status)
		}
		if msg := fieldMsg(body, "email"); msg != "" && !strings.Contains(page.body, strings.ReplaceAll(msg, "'", "&#39;")) {
			t.Errorf("%s: API says %q, the page does not", email, msg)
		}
	}
	a, _ := app.store.Users.Allocation(context.Background(), annUser.ID)
	b, _ := app.store.Users.Allocation(context.Background(), bea.ID)
	if a != b {
		t.Errorf("allocations differ: page %+v, API %+v", a, b)
	}
}

func TestEveryAPIRouteIsDocumented(t *testing.T) {
	app := newTestApp(t)
	router, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	err = walkRoutes(app, func(method, route string) {
		if !strings.HasPrefix(route, "/api/v1/") {
			return
		}
		seen++
		path := strings.NewReplacer("{id}", "1", "{token}", "abc").Replace(route)
		u, _ := url.Parse("http://beckon.test" + path)
		if _, _, err := router.FindRoute(&http.Request{Method: method, URL: u}); err != nil {
			t.Errorf("%s %s is served but not documented: %v", method, route, err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 14 {
		t.Errorf("walked only %d API routes", seen)
	}
}

// TestOpenAPIListsEveryErrorCode keeps the document's list of error codes in
// step with the error vocabulary: every declared code is listed, and nothing
// else is.
func TestOpenAPIListsEveryErrorCode(t *testing.T) {
	app := newTestApp(t)
	res, err := http.Get(app.srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `json:"enum"`
								} `json:"code"`
							} `json:"properties"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum {
		listed[c] = true
	}
	declared := map[string]bool{}
	for _, c := range handlers.ErrorCodes() {
		declared[c] = true
		if !listed[c] {
			t.Errorf("error code %q is declared but not listed in openapi.json", c)
		}
	}
	for c := range listed {
		if !declared[c] {
			t.Errorf("openapi.json lists error code %q, which nothing declares", c)
		}
	}
	if len(declared) < 20 {
		t.Errorf("only %d codes declared; the vocabulary did not load", len(declared))
	}
}
