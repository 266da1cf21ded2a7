// Package views holds Beckon's templ components: one file per resource with
// its pages and the fragments htmx swaps, and the view models they render.
// Components are pure functions of their parameters.
package views

import (
	"fmt"
	"github.com/a-h/templ"
	"strconv"
	"time"

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
}

// Assets are the URLs of the static files every page links to: names with a
// hash of the content, which browsers may cache for good. Empty ones fall
// back to the plain names.
type Assets struct {
	CSS, HTMX, Icon string
}

func (a Assets) css() string  { return orDefault(a.CSS, "/static/css/app.css") }
func (a Assets) htmx() string { return orDefault(a.HTMX, "/static/js/htmx.min.js") }
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
	return strconv.Itoa(a.Remaining())
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

// Plural is "1 user", "2 users".
func Plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// FieldErrors maps a form field to its message.
type FieldErrors map[string]string

// Invalid marks a field whose value was refused: aria-invalid, and
// aria-describedby pointing at the message FieldError renders. It is
// empty for a field without an error.
func (e FieldErrors) Invalid(field string) templ.Attributes {
	if e[field] == "" {
		return nil
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": field + "-error"}
}
