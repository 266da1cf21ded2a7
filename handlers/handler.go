// Package handlers is Beckon's HTTP layer: the route table, middleware, and
// one file per resource whose methods turn requests into model calls and
// rendered views.
package handlers

import (
	"log/slog"
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
	// mailByAddress bounds the emails a visitor can make the site send to
	// one address (password resets, confirmation resends).
	mailByAddress *limiter
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
		mailByAddress:  newLimiter(5, time.Hour),
	}
}

// Session keys.
const (
	sessionUserID = "user_id"
	sessionFlash  = "flash"
)
