package handlers

import (
	"context"
	"net/http"
	"time"
)

// healthSQL reads a table, not just a connection: a ping succeeds on a
// database that is locked up, unreadable or missing its schema, and a health
// check that passes there would keep a broken instance in service. It reads
// at most one row of users, so it costs the same at any size.
const healthSQL = `SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1) AS one`

// healthTimeout bounds the check, so that a stuck database answers 503
// before the load balancer's own timeout rather than hanging.
const healthTimeout = 2 * time.Second

// healthz handles GET /healthz: 200 when a query on the database succeeds,
// 503 otherwise.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var n int
	if err := h.store.DB.QueryRowContext(ctx, healthSQL).Scan(&n); err != nil {
		h.logger.Error("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unavailable\n"))
		return
	}
	w.Write([]byte("ok\n"))
}
