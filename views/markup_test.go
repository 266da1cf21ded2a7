package views

import (
	"html"
	"strings"
	"testing"
	"time"
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

// The hand-written dates read exactly as time.Format writes them.
func TestAppendDateMatchesFormat(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 12, 3, 9, 5, 0, 0, time.UTC), time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 6, 1, 0, 0, 0, 0, time.FixedZone("x", 5*3600)), time.Date(999, 2, 3, 4, 5, 6, 0, time.UTC),
	} {
		for _, layout := range []string{dateLayout, dateTimeLayout, time.RFC3339} {
			if got, want := string(appendDate(nil, tm, layout)), tm.UTC().Format(layout); got != want {
				t.Errorf("appendDate(%v, %q) = %q; want %q", tm, layout, got, want)
			}
		}
	}
}
