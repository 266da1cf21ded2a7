// Package handlers is Beckon's HTTP layer: the route table, middleware, and
// one file per resource whose methods turn requests into model calls and
// rendered views.
package handlers

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/beckon-app/beckon/models"
)

// Config is what the handlers need to know about the site.
type Config struct {
	SiteName   string
	BaseURL    string
	SignupOpen bool // false: invite-only
	// LoginPerIP and LoginPerAccount bound sign-in attempts per window.
	LoginPerIP      int
	LoginPerAccount int
	LoginWindow     time.Duration
}

// Handler holds every dependency of the HTTP layer.
type Handler struct {
	logger   *slog.Logger
	store    *models.Store
	sessions *scs.SessionManager
	cfg      Config

	loginByIP      *limiter
	loginByAccount *limiter
}

// New builds the Handler.
func New(logger *slog.Logger, store *models.Store, sessions *scs.SessionManager, cfg Config) *Handler {
	if cfg.LoginPerIP <= 0 {
		cfg.LoginPerIP = 30
	}
	if cfg.LoginPerAccount <= 0 {
		cfg.LoginPerAccount = 10
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = 15 * time.Minute
	}
	return &Handler{
		logger:         logger,
		store:          store,
		sessions:       sessions,
		cfg:            cfg,
		loginByIP:      newLimiter(cfg.LoginPerIP, cfg.LoginWindow),
		loginByAccount: newLimiter(cfg.LoginPerAccount, cfg.LoginWindow),
	}
}

// Session keys.
const (
	sessionUserID = "user_id"
	sessionFlash  = "flash"
)

// ensure the handler satisfies http.Handler through Routes.
var _ = http.Handler(nil)
