package views

import (
	"html"
	"strings"
	"testing"
)

// The Go-written components escape every value exactly as templ does.
func TestMarkupEscapesAsTempl(t *testing.T) {
	for _, s := range []string{"", "plain", `o"brien<x>@example.net`, "a & b's <c>", "<<>>", "é & ü", `"`} {
		var b strings.Builder
		m := newMarkup(&b)
		m.text(s)
		if got, want := b.String(), html.EscapeString(s); got != want || m.err != nil {
			t.Errorf("text(%q) = %q, %v; want %q", s, got, m.err, want)
		}
	}
}
