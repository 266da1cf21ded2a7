package handlers

import "testing"

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
