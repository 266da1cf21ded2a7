package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzAPIInvite throws arbitrary bodies at POST /api/v1/invite/: whatever
// arrives, the answer is never a 500 and always JSON. The seed corpus runs
// in every "go test"; "go test -fuzz FuzzAPIInvite ./handlers" explores.
func FuzzAPIInvite(f *testing.F) {
	for _, seed := range []string{
		`{"email":"bob@example.com"}`,
		`{"email":"bob@example.com","note":"hi","expires_in_hours":24}`,
		`{"email":"","note":null}`,
		`{"email":"a@b.c","expires_in_hours":1e400}`,
		`{"email":"a@b.c","expires_in_hours":-0}`,
		`{"email":["x"]}`,
		`{"email":"\u0000@example.com"}`,
		`{"email":"x@example.com"}{"email":"y@example.com"}`,
		`[]`, `null`, `"x"`, `{`, ``, `{"note":"` + string(make([]byte, 600)) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	app := newTestApp(f, withAllocation(-1), withRates(0, 0))
	ann := app.user("ann@example.com", "ann", true)
	token, _, err := app.store.APITokens.Create(context.Background(), ann.ID, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	handler := app.srv.Config.Handler
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/invite/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("body %q answered %d: %s", body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("body %q answered %s", body, ct)
		}
	})
}
