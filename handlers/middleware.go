package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/beckon-app/beckon/models"
)

// tokenPaths are the path prefixes whose next segment is a secret token.
var tokenPaths = []string{"/join/", "/confirm-email/", "/password/reset/", "/api/v1/invite/", "/request/confirm/"}

// logPath is a request path fit for a log: a token in it is cut out.
func logPath(p string) string {
	for _, prefix := range tokenPaths {
		if rest, ok := strings.CutPrefix(p, prefix); ok && rest != "" {
			return prefix + "…"
		}
	}
	return p
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs one line per request, without the query string and with
// any token cut out of the path.
func (h *Handler) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		level := slogLevelFor(rec.status)
		h.logger.Log(r.Context(), level, "request", "method", r.Method, "path", logPath(r.URL.Path),
			"status", rec.status, "dur_ms", time.Since(start).Milliseconds())
	})
}

// recoverPanic turns a panic in a handler into a logged 500.
func (h *Handler) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				w.Header().Set("Connection", "close")
				err := fmt.Errorf("panic: %v", v)
				if strings.HasPrefix(r.URL.Path, "/api/") {
					h.apiServerError(w, r, err) // an API client reads JSON, even then
					return
				}
				h.serverError(w, r, err)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// secureHeaders sets the headers every answer carries. The CSP allows no
// inline script or style: htmx is configured not to inject any. Under an
// https base URL, HSTS keeps browsers on https for two years. An answer to a
// request that carries the session cookie may hold the member's own data, so
// it defaults to no-store: that covers every page of a signed-in user,
// whichever group its route is in, and a handler that knows better (static
// files) sets its own Cache-Control.
func (h *Handler) secureHeaders() func(http.Handler) http.Handler {
	u, err := url.Parse(h.cfg.BaseURL)
	hsts := err == nil && u.Scheme == "https"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hd := w.Header()
			hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
				"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
			hd.Set("X-Content-Type-Options", "nosniff")
			hd.Set("X-Frame-Options", "DENY")
			hd.Set("Referrer-Policy", "same-origin")
			hd.Set("Cross-Origin-Opener-Policy", "same-origin")
			if hsts {
				hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			if _, err := r.Cookie(h.sessions.Cookie.Name); err == nil {
				hd.Set("Cache-Control", "no-store")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody caps request bodies; forms are small.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

type userKey struct{}

// currentUser returns the signed-in user of r, if any.
func currentUser(r *http.Request) (models.User, bool) {
	u, ok := r.Context().Value(userKey{}).(models.User)
	return u, ok
}

type standingKey struct{}

// currentStanding returns the moderation standing of r's signed-in user as
// loadUser read it with the user, if any.
func currentStanding(r *http.Request) (models.Standing, bool) {
	st, ok := r.Context().Value(standingKey{}).(models.Standing)
	return st, ok
}

// loadUser puts the signed-in user, if any, into the request context. A
// session signed in before the account's credentials last changed (its
// epoch is older than the user's) is signed out here: that is how a password
// change or reset, or the first proof of the address, ends other sessions.
func (h *Handler) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := h.sessions.GetInt64(r.Context(), sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		// The user and their moderation standing in one read: the
		// suspension check below and the invite panel both use it.
		u, st, err := h.store.Users.GetWithStanding(r.Context(), id)
		if errors.Is(err, models.ErrNoRecord) {
			// The account is gone: forget it.
			h.signOut(r)
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		if h.sessions.GetInt64(r.Context(), sessionEpoch) != u.SessionEpoch {
			h.signOut(r)
			h.flash(r, "You were signed out because this account's password or email confirmation changed. Please sign in again.")
			next.ServeHTTP(w, r)
			return
		}
		// A suspension ends every session of the member at once: the next
		// request of any browser they left signed in is signed out.
		if st.Suspended {
			h.signOut(r)
			next.ServeHTTP(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), userKey{}, u)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, standingKey{}, st)))
	})
}

// requireUser sends a signed-out visitor to /login, and back afterwards.
func (h *Handler) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := currentUser(r); !ok {
			to := "/login?next=" + url.QueryEscape(r.URL.RequestURI())
			if r.Header.Get("HX-Request") == "true" {
				w.Header().Set("HX-Redirect", to)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			redirect(w, r, "/login")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// requireStaff admits staff (the staff or superuser flag, or the
// manage_invites permission); a signed-in member gets 403. Use it after
// requireUser.
func (h *Handler) requireStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := currentUser(r); !u.IsStaff() {
			h.forbidden(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// safeNext returns next if it is a plain path on this site, else "/". A
// browser reads a Location more loosely than Go writes it: it drops tabs and
// newlines, reads a backslash as a slash, and takes "//host" as another
// site, so anything with a control character or a backslash, a scheme or a
// host, a path starting "//" (before or after unescaping), or that
// url.Parse rejects, goes home instead.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || unsafeInPath(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || unsafeInPath(u.Path) {
		return "/"
	}
	return next
}

// unsafeInPath reports whether s holds a backslash or a C0 control
// character or DEL.
func unsafeInPath(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return true
		}
	}
	return false
}

// clientIP is the address of the client that made r. With no trusted proxy
// it is the connection's address, and X-Forwarded-For is ignored: anyone can
// write that header. When the connection comes from a trusted proxy, it is
// the rightmost X-Forwarded-For entry outside the trusted networks: each
// proxy appends the address it was reached from, so entries to the left of
// that one may be the client's own inventions. If every entry is trusted the
// leftmost is the client; an entry that is no address ends the walk there,
// at the last address read.
func (h *Handler) clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if hp, _, err := net.SplitHostPort(host); err == nil {
		host = hp
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap().WithZone("")
	if !h.trusted(peer) {
		return peer.String()
	}
	client := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := forwardedAddr(entries[j])
			if !ok {
				return client.String()
			}
			client = a
			if !h.trusted(a) {
				return a.String()
			}
		}
	}
	return client.String()
}

// clientNet is the key of the per-address rate limits: the client's IPv4
// address, or the /64 network of an IPv6 one. A host or a household is
// given a /64 whole, so a client could otherwise take a new address from it
// for every try.
func (h *Handler) clientNet(r *http.Request) string {
	ip := h.clientIP(r)
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// trusted reports whether a is inside one of the trusted proxy networks.
func (h *Handler) trusted(a netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedAddr reads one X-Forwarded-For entry: an address, or (as some
// proxies write it) an address with a port.
func forwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// slogLevelFor is the level a request with status is logged at.
func slogLevelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
