// Package handlers is Beckon's HTTP layer: the route table, middleware, and
// one file per resource whose methods turn requests into model calls and
// rendered views.
package handlers

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/static"
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
	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// (BECKON_TRUSTED_PROXIES); empty, the header is ignored.
	TrustedProxies []netip.Prefix
	// JoinRate is how many sign-up attempts one client address may make in
	// JoinWindow (BECKON_JOIN_RATE); 0 turns the limit off.
	JoinRate   int
	JoinWindow time.Duration
	// ForgotPerIP bounds the password reset requests one client address may
	// make in 15 minutes (0: 10).
	ForgotPerIP int
	// WebhookAllowPrivate lets webhook URLs be http and name private or
	// loopback addresses (BECKON_WEBHOOK_ALLOW_PRIVATE).
	WebhookAllowPrivate bool
	// Links is who may make shareable links (BECKON_LINKS): LinksMembers
	// (also ""), LinksStaff or LinksOff.
	Links string
}

// Handler holds every dependency of the HTTP layer.
type Handler struct {
	logger   *slog.Logger
	store    *models.Store
	sessions *scs.SessionManager
	cfg      Config

	loginByIP *limiter
	// loginByAccount counts failed sign-ins per account: the user id once
	// the typed login names a user, so email and username share a budget.
	loginByAccount *limiter
	// mailByAddress bounds the emails a visitor can make the site send to
	// one address (password resets, confirmation resends).
	mailByAddress *limiter
	// forgotByIP bounds the reset requests of one client address, so that
	// distinct addresses cannot be sprayed (each adds a mailByAddress key).
	forgotByIP *limiter
	// joinByIP counts sign-up attempts per client address (nil: no limit).
	joinByIP *limiter

	// assets serves the static files under content-hashed names.
	assets *assets
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
	if cfg.JoinWindow <= 0 {
		cfg.JoinWindow = 15 * time.Minute
	}
	if cfg.ForgotPerIP <= 0 {
		cfg.ForgotPerIP = 10
	}
	files, err := newAssets(static.Files)
	if err != nil {
		// The files are part of the binary: only a broken build gets here.
		panic("handlers: " + err.Error())
	}
	return &Handler{
		assets:         files,
		logger:         logger,
		store:          store,
		sessions:       sessions,
		cfg:            cfg,
		loginByIP:      sharedLimiter(store, logger, "login-ip", cfg.LoginPerIP, cfg.LoginWindow),
		loginByAccount: sharedLimiter(store, logger, "login-account", cfg.LoginPerAccount, cfg.LoginWindow),
		mailByAddress:  sharedLimiter(store, logger, "mail-address", 5, time.Hour),
		forgotByIP:     sharedLimiter(store, logger, "forgot-ip", cfg.ForgotPerIP, 15*time.Minute),
		joinByIP:       sharedLimiter(store, logger, "join-ip", cfg.JoinRate, cfg.JoinWindow),
	}
}

// Session keys.
const (
	sessionUserID = "user_id"
	sessionFlash  = "flash"
)
