package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beckon-app/beckon/models"
)

// tokenPaths are the path prefixes whose next segment is a secret token.
var tokenPaths = []string{"/join/", "/confirm-email/", "/password/reset/", "/api/v1/invite/"}

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
				h.serverError(w, r, fmt.Errorf("panic: %v", v))
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

// loadUser puts the signed-in user, if any, into the request context.
func (h *Handler) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := h.sessions.GetInt64(r.Context(), sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		u, err := h.store.Users.Get(r.Context(), id)
		if errors.Is(err, models.ErrNoRecord) {
			// The account is gone: forget it.
			h.sessions.Remove(r.Context(), sessionUserID)
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
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

// safeNext returns next if it is a path on this site, else "/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// clientIP is the address the connection came from. Beckon does not trust
// X-Forwarded-For: behind a proxy, run it with the proxy setting RemoteAddr.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
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
