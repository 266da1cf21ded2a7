package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// render writes component with status, rendered into a buffer first so that
// a failing component never leaves half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := c.Render(r.Context(), buf); err != nil {
		h.serverError(w, r, fmt.Errorf("render: %w", err))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	// The length is known: the page goes out in one piece, not in chunks.
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	hd.Add("Vary", "HX-Request")
	if status >= 400 && r.Method != http.MethodGet && r.Header.Get("HX-Boosted") == "true" {
		// A refused boosted form stays at the page it was sent from: htmx
		// would put the form's POST-only URL in the address bar, and a
		// reload there answers 405.
		hd.Set("HX-Push-Url", "false")
	}
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// renderBuffers keeps the page buffers of render between requests: a page
// is tens of kilobytes, and a fresh buffer grew (and was copied) several
// times for each.
var renderBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) }}

// putRenderBuffer returns buf to the pool, unless an unusually large page
// grew it: the pool would keep that memory alive for every later page.
func putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 256<<10 {
		return
	}
	buf.Reset()
	renderBuffers.Put(buf)
}

// wantsFragment reports whether r is an htmx request that wants only
// fragments: HX-Request set, but not a boosted navigation (which swaps the
// whole body) nor a history restore (which needs the whole page).
func wantsFragment(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" &&
		r.Header.Get("HX-Boosted") != "true" &&
		r.Header.Get("HX-History-Restore-Request") != "true"
}

// layout is the Layout of a full page for r; it pops the flash message.
func (h *Handler) layout(r *http.Request, title string) views.Layout {
	u, _ := currentUser(r)
	return views.Layout{
		Assets:    h.assets.views(),
		Title:     title,
		SiteName:  h.cfg.SiteName,
		User:      u,
		Flash:     h.sessions.PopString(r.Context(), sessionFlash),
		Path:      r.URL.Path,
		Now:       h.store.Now(),
		ShowLinks: u.ID != 0 && h.linksRefusal(u) == nil,
	}
}

// say renders c, the htmx answer of an action that was done, with msg in
// the page's status region ("Invitation sent to ann@example.com."). It is
// the one way a handler reports a success to an htmx request.
func (h *Handler) say(w http.ResponseWriter, r *http.Request, c templ.Component, msg string) {
	h.render(w, r, http.StatusOK, views.WithStatus(c, msg))
}

// flash puts a one-time message in the session for the next page.
func (h *Handler) flash(r *http.Request, msg string) {
	h.sessions.Put(r.Context(), sessionFlash, msg)
}

// redirect answers a form post with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// serverError answers an error the handler did not expect: through the
// vocabulary when it is a known one, else logged and answered 500 with a page
// that says nothing of it.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.fail(w, r, err, models.Facts{})
}

// errorPage answers status with a plain page offering the way on (nextStep),
// or, for an htmx fragment request, a fragment. The fragment never replaces
// the form or row the request came from: the server's one rule for htmx
// errors is that an answer re-rendering its form or row with the message in
// place (the 422s) is written by its handler, and everything else that
// fails (a 500 too) comes here and is retargeted to the page's status
// region, so what was typed stays where it was.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	next := nextStep(r, status, message)
	if wantsFragment(r) {
		w.Header().Set("HX-Retarget", "#status-error")
		w.Header().Set("HX-Reswap", "innerHTML")
		h.render(w, r, status, views.StatusErrorBody(message, next))
		return
	}
	l := views.Layout{Title: heading, SiteName: h.cfg.SiteName, Path: r.URL.Path, Assets: h.assets.views(), Now: h.store.Now()}
	l.User, _ = currentUser(r)
	h.render(w, r, status, views.ErrorPage(l, heading, message, next))
}

// nextSteps are the ways on that an error offers, by the path it happened
// on: the first whose prefix matches. A refusal that says to sign in offers
// "Sign in" instead (nextStep).
var nextSteps = []struct {
	prefix string
	step   views.NextStep
}{
	{"/invitations", views.NextStep{Href: "/invitations", Label: "Back to your invitations"}},
	{"/staff/invitations", views.NextStep{Href: "/staff/invitations", Label: "Back to all invitations"}},
	{"/staff/users", views.NextStep{Href: "/staff/users", Label: "Back to the users"}},
	{"/staff", views.NextStep{Href: "/staff", Label: "Back to the staff dashboard"}},
	{"/settings/tokens", views.NextStep{Href: "/settings/tokens", Label: "Back to your API tokens"}},
	{"/settings", views.NextStep{Href: "/settings", Label: "Back to your settings"}},
}

// nextStep is the way on from an error with message on r.
func nextStep(r *http.Request, status int, message string) views.NextStep {
	_, signedIn := currentUser(r)
	if !signedIn && (status == http.StatusUnauthorized || strings.Contains(strings.ToLower(message), "sign in")) {
		return views.NextStep{Href: "/login", Label: "Sign in"}
	}
	if !signedIn {
		return views.NextStep{}
	}
	for _, n := range nextSteps {
		if strings.HasPrefix(r.URL.Path, n.prefix) && r.URL.Path != n.step.Href {
			return n.step
		}
	}
	return views.NextStep{} // the page offers the home page
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, models.ErrNoRecord, models.Facts{})
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, errForbidden, models.Facts{})
}

// tooMany answers 429 with Retry-After.
func (h *Handler) tooMany(w http.ResponseWriter, r *http.Request, retryAfterSeconds int, message string) {
	h.fail(w, r, &models.RateLimitError{Reason: message, RetryAfter: max(retryAfterSeconds, 1)}, models.Facts{})
}
