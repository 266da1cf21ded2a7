package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/webhooks"
)

// serve runs the web server until ctx is cancelled (SIGINT or SIGTERM), then
// drains requests and background work.
func serve(ctx context.Context, env *environment, name string, args []string) error {
	cfg, rest, err := parseConfig(name, args, env.getenv, env.stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("serve takes no arguments, got %q", rest)}
	}
	logger := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.close()

	var sender mail.Sender = mail.LogSender{Logger: logger, From: cfg.MailFrom, Out: env.stdout}
	if cfg.SMTPURL != "" {
		s, err := mail.NewSMTPSender(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			return usageError{fmt.Errorf("BECKON_SMTP_URL: %w", err)}
		}
		logger.Info("sending email over SMTP", "server", s.String(), "tls", s.TLS())
		sender = s
	} else if strings.HasPrefix(cfg.BaseURL, "https://") {
		// Looks like production, where every emailed token in the log
		// would be a way into someone's account.
		logger.Warn("BECKON_SMTP_URL is not set: emails, with their links and tokens, are written to the log instead of sent; set it before real users sign up")
	}
	deliverer := mail.NewDeliverer(app.store.Outbox, sender, logger, mail.DelivererOptions{})
	// One process owns a SQLite file, so whatever emails are claimed were
	// claimed by a server that died while sending them: send them again now
	// (their links stay valid) rather than when their claim runs out. On
	// PostgreSQL other servers may be sending the claimed ones right now:
	// those wait for their claim to run out.
	if models.EngineOf(app.db) == models.SQLite {
		if n, err := app.store.Outbox.ReleaseClaims(ctx); err != nil {
			return fmt.Errorf("release claimed emails: %w", err)
		} else if n > 0 {
			logger.Warn("emails claimed by a previous run are sent again", "count", n)
		}
	}

	store := newSessionStore(app.db)
	defer store.StopCleanup()
	sessions := handlers.NewSessionManager(handlers.HashedSessionStore(store), strings.HasPrefix(cfg.BaseURL, "https://"))
	h := handlers.New(logger, app.store, sessions, handlers.Config{
		SiteName:       cfg.SiteName,
		BaseURL:        cfg.BaseURL,
		SignupOpen:     cfg.Signup == "open",
		TrustedProxies: cfg.TrustedProxies,
		JoinRate:       cfg.JoinRate,
		Links:          cfg.Links,

		WebhookAllowPrivate: cfg.WebhookAllowPrivate,
	})
	hooks := webhooks.New(app.store.Webhooks, logger, webhooks.Options{AllowPrivate: cfg.WebhookAllowPrivate})

	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           h.Routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "db", cfg.DB, "signup", cfg.Signup)
	if any, err := app.store.Users.Any(ctx); err == nil && !any {
		logger.Info("no account exists yet: create the first administrator at " + cfg.BaseURL + "/setup")
		fmt.Fprintf(env.stdout, "\n  Create the first administrator: %s/setup\n\n", cfg.BaseURL)
	}

	// Background work: email and webhook delivery, the invitation expiry sweep.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { deliverer.Run(bg, 15*time.Second) })
	wg.Go(func() { sweepExpired(bg, periodicJobs(app.store, logger), logger, time.Minute) })
	wg.Go(func() { runBulkJobs(bg, app.store, logger, 30*time.Second) })
	wg.Go(func() { hooks.Run(bg, 10*time.Second) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		stopBG()
		wg.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopBG()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// sweepExpired runs the periodic jobs (expire: the expiry sweep, and with
// periodicJobs the earned invitations too) every interval until ctx is
// done. A panic in a run is logged and the sweep goes on.
func sweepExpired(ctx context.Context, expire func(context.Context) (int, error), logger *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		sweepOnce(ctx, expire, logger)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sweepOnce(ctx context.Context, expire func(context.Context) (int, error), logger *slog.Logger) {
	defer func() {
		if p := recover(); p != nil {
			logger.Error("expiry sweep panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	if n, err := expire(ctx); err != nil && ctx.Err() == nil {
		logger.Error("expiry sweep failed", "err", err)
	} else if n > 0 {
		logger.Info("expired invitations", "count", n)
	}
}

// periodicJobs is every periodic job as one run for sweepExpired: the
// expiry sweep, reminders, then earned invitations. It answers how many invitations
// expired, and logs what else it did.
func periodicJobs(store *models.Store, logger *slog.Logger) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		res, err := sweep(ctx, store)
		if res.Reminded > 0 {
			logger.Info("queued invitation reminders", "count", res.Reminded)
		}
		if res.Earned.Invitees > 0 {
			logger.Info("earned invitations", "invitees", res.Earned.Invitees, "inviters", res.Earned.Inviters)
		}
		if res.Pruned > 0 {
			logger.Info("deleted the bodies of old emails", "count", res.Pruned)
		}
		return res.Expired, err
	}
}

// sweepResult is what one run of the periodic jobs did.
type sweepResult struct {
	Expired  int
	Reminded int
	Earned   models.Earned
	Pruned   int // emails whose bodies were deleted (models.BodyRetention)
}

// sweep runs every periodic job once (the server every minute, and
// "beckon sweep"): the expiry sweep, then the reminders (of invitations
// still pending), then earned invitations, then the old rate-limit
// attempts and the bodies of old emails. A failing job does not keep the
// others from running.
func sweep(ctx context.Context, store *models.Store) (sweepResult, error) {
	var res sweepResult
	var errs []error
	var err error
	if res.Expired, err = store.Invitations.ExpireDue(ctx); err != nil {
		errs = append(errs, fmt.Errorf("expiry: %w", err))
	}
	if res.Reminded, err = store.Invitations.RemindDue(ctx); err != nil {
		errs = append(errs, fmt.Errorf("reminders: %w", err))
	}
	if res.Earned, err = store.Invitations.EarnDue(ctx); err != nil {
		errs = append(errs, fmt.Errorf("earned invitations: %w", err))
	}
	// Attempts older than any rate limit's window.
	if _, err = store.RateLimits.Sweep(ctx, 24*time.Hour); err != nil {
		errs = append(errs, fmt.Errorf("rate limits: %w", err))
	}
	if res.Pruned, err = store.Outbox.PruneBodies(ctx); err != nil {
		errs = append(errs, fmt.Errorf("email bodies: %w", err))
	}
	return res, errors.Join(errs...)
}

// runBulkJobs runs the bulk invitation jobs until ctx is done: the
// unfinished ones at start (a restart in the middle of a job finishes it),
// each new one at once, and every interval any left over by a failure.
func runBulkJobs(ctx context.Context, store *models.Store, logger *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		workBulk(ctx, store, logger)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-store.Bulk.Queued():
		}
	}
}

// workBulk is one pass of the bulk runner. A panic is logged and the pass
// ends; the row it happened on stays to do, for the next pass.
func workBulk(ctx context.Context, store *models.Store, logger *slog.Logger) {
	defer func() {
		if p := recover(); p != nil {
			logger.Error("bulk invitation runner panicked", "panic", fmt.Sprint(p))
		}
	}()
	if err := store.Bulk.Work(ctx); err != nil && ctx.Err() == nil {
		logger.Error("bulk invitation pass failed", "err", err)
	}
}
