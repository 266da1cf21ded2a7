// Package views holds Beckon's templ components: one file per resource with
// its pages and the fragments htmx swaps, and the view models they render.
// Components are pure functions of their parameters.
package views

import (
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/beckon-app/beckon/models"
)

// Layout is what every full page needs besides its own content.
type Layout struct {
	Title    string
	SiteName string
	User     models.User // zero when signed out
	Flash    string
	Path     string // the request path, for the nav's current item
	Assets   Assets
	// Refresh, when above 0, makes the page reload itself after that many
	// seconds in a browser without JavaScript (a running job's progress);
	// with JavaScript htmx updates the page in place instead.
	Refresh int
	// ShowLinks is whether the member may use shareable links (BECKON_LINKS).
	ShowLinks bool
	Now       time.Time // the store's clock, for relative times ("in 6 days")
}

// Assets are the URLs of the static files every page links to: names with a
// hash of the content, which browsers may cache for good. Empty ones fall
// back to the plain names.
type Assets struct {
	CSS, HTMX, App, Icon string
}

func (a Assets) css() string  { return orDefault(a.CSS, "/static/css/app.css") }
func (a Assets) htmx() string { return orDefault(a.HTMX, "/static/js/htmx.min.js") }
func (a Assets) app() string  { return orDefault(a.App, "/static/js/app.js") }
func (a Assets) icon() string { return orDefault(a.Icon, "/static/img/favicon.svg") }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// SignedIn reports whether a member is signed in.
func (l Layout) SignedIn() bool { return l.User.ID != 0 }

func (l Layout) pageTitle() string {
	if l.Title == "" {
		return l.SiteName
	}
	return l.Title + " · " + l.SiteName
}

// RemainingText is how a counter shows an allocation: "Unlimited" or a number.
func RemainingText(a models.Allocation) string {
	if a.Unlimited {
		return "Unlimited"
	}
	return Number(a.Remaining())
}

// Date formats a date the way the site shows it (and its messages say it).
func Date(t time.Time) string { return models.FormatDate(t) }

// DateTime formats a moment the way the site shows it.
func DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// Plural is "1 user", "2 users", "48,210 users": a count as pages show
// it, with Number's separators.
func Plural(n int, one, many string) string {
	if n == 1 {
		return Number(n) + " " + one
	}
	return Number(n) + " " + many
}

// Number is how pages show every count: with thousands separators,
// "1,000,000".
func Number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Relative says when t is from now, in words: "in 6 days", "3 hours ago",
// "just now". Pages pass now in (Layout.Now, from the store's clock): no
// component reads a clock.
func Relative(t, now time.Time) string { return string(appendRelative(nil, t, now)) }

// appendRelative appends Relative(t, now) to b. Every count it says is
// below 1,000 (minutes below 60, hours below 24, days below 60, months
// below 24), so it needs none of Number's separators.
func appendRelative(b []byte, t, now time.Time) []byte {
	d := t.Sub(now)
	future := d > 0
	if !future {
		d = -d
	}
	var n int
	var unit string
	switch {
	case d < time.Minute:
		return append(b, "just now"...)
	case d < time.Hour:
		n, unit = int(d/time.Minute), "minute"
	case d < 24*time.Hour:
		n, unit = int(d/time.Hour), "hour"
	case d < 60*24*time.Hour:
		n, unit = int((d+12*time.Hour)/(24*time.Hour)), "day"
	case d < 2*365*24*time.Hour:
		n, unit = int(d/(30*24*time.Hour)), "month"
	default:
		n, unit = int(d/(365*24*time.Hour)), "year"
	}
	if future {
		b = append(b, "in "...)
	}
	if n >= 1000 { // years, past 2,000 years: never on a real page
		b = append(b, Number(n)...)
	} else {
		b = strconv.AppendInt(b, int64(n), 10)
	}
	b = append(b, ' ')
	b = append(b, unit...)
	if n != 1 {
		b = append(b, 's')
	}
	if !future {
		b = append(b, " ago"...)
	}
	return b
}

// ISO is t as a <time datetime> value.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// FieldErrors maps a form field to its message.
type FieldErrors map[string]string

// Invalid marks a field whose value was refused: aria-invalid, and
// aria-describedby pointing at the message FieldError renders. It is
// empty for a field without an error. (app.js moves focus to the first
// field so marked after a refused submit.)
func (e FieldErrors) Invalid(field string) templ.Attributes {
	if e[field] == "" {
		return nil
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": field + "-error"}
}

// InvalidIn is Invalid for FieldErrorIn's message, in form.
func (e FieldErrors) InvalidIn(form, field string) templ.Attributes {
	if e[field] == "" {
		return nil
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": form + "-" + field + "-error"}
}
