package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/a-h/templ"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// render writes component with status, rendered into a buffer first so that
// a failing component never leaves half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		h.serverError(w, r, fmt.Errorf("render: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Add("Vary", "HX-Request")
	w.WriteHeader(status)
	buf.WriteTo(w)
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
		ShowLinks: u.ID != 0 && h.linksRefusal(u) == nil,
	}
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

// errorPage answers status with a plain page (or, for an htmx fragment
// request, a small fragment).
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	if wantsFragment(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Add("Vary", "HX-Request")
		w.WriteHeader(status)
		errorFragment(message).Render(r.Context(), w)
		return
	}
	l := views.Layout{Title: heading, SiteName: h.cfg.SiteName, Path: r.URL.Path, Assets: h.assets.views()}
	l.User, _ = currentUser(r)
	h.render(w, r, status, views.ErrorPage(l, heading, message))
}

func errorFragment(message string) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := fmt.Fprintf(w, `<p class="field-error" role="alert">%s</p>`, templ.EscapeString(message))
		return err
	})
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
