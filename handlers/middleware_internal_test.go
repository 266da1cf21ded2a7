package handlers

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"", "/"},
		{"/", "/"},
		{"/ok?x=1", "/ok?x=1"},
		{"/invitations?status=pending&page=2", "/invitations?status=pending&page=2"},
		{"/u/ann#sent", "/u/ann#sent"},
		{"/search?q=a%20b", "/search?q=a%20b"},
		{"/\t/evil.example", "/"},            // "/%09/evil.example" as it arrives decoded: browsers drop the tab
		{"/%09/evil.example", "/"},           // the same, escaped once more
		{"/\n/evil.example", "/"},            // newlines are dropped too
		{"/\r\n/evil.example", "/"},          // and carriage returns
		{"/\x00/evil.example", "/"},          // any C0 control
		{"/\x1f/evil.example", "/"},          //
		{"/\x7f/evil.example", "/"},          // DEL
		{"/ok\t", "/"},                       // anywhere in the value
		{"/ok?x=\t", "/"},                    // the query too
		{"\\\\evil", "/"},                    // backslashes read as slashes
		{"/\\evil.example", "/"},             //
		{"/ok\\x", "/"},                      // a backslash anywhere
		{"/%5C/evil.example", "/"},           // an escaped backslash
		{"https://evil", "/"},                // a scheme and host
		{"https:/evil", "/"},                 // a scheme alone
		{"javascript:alert(1)", "/"},         //
		{"//evil", "/"},                      // scheme-relative
		{"///evil", "/"},                     //
		{"/%2F/evil", "/"},                   // "//" once unescaped
		{"evil", "/"},                        // not a path
		{"?next=/x", "/"},                    //
		{" /ok", "/"},                        // not starting with "/"
		{"/%zz", "/"},                        // url.Parse rejects it
		{"/ok/../../evil", "/ok/../../evil"}, // stays on this site whatever it resolves to
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q; want %q", tc.next, got, tc.want)
		}
	}
}

// A panic under /api/ is answered in the API's shape, not with a page.
func TestPanicUnderTheAPIIsAnsweredInJSON(t *testing.T) {
	h := &Handler{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	boom := h.recoverPanic(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	boom.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/me", nil))
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusInternalServerError || body.Error.Code != "internal_error" {
		t.Fatalf("%d %q (%v); want 500 and a JSON error coded internal_error", rec.Code, rec.Body.String(), err)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Error("the answer tells the panic's value")
	}
}
