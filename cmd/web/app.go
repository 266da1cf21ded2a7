package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
)

// environment is what a command may use of the process.
type environment struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// app is the opened, migrated database and the store over it.
type app struct {
	db    *sql.DB
	store *models.Store
}

// openApp opens and migrates the database of cfg and builds the store.
func openApp(ctx context.Context, cfg config, logger *slog.Logger) (*app, error) {
	secret, err := linkSecret(cfg)
	if err != nil {
		return nil, err
	}
	db, err := models.Open(cfg.DB)
	if err != nil {
		return nil, err
	}
	applied, err := models.Migrate(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(applied) > 0 {
		logger.Info("applied migrations", "names", applied)
	}
	store := models.New(db, models.Options{
		Composer:          mail.Composer{SiteName: cfg.SiteName, BaseURL: cfg.BaseURL},
		DefaultAllocation: cfg.DefaultAllocation,
		InviteExpiry:      cfg.InviteExpiry,
		InviteRate:        cfg.InviteRate,
		RecipientRate:     cfg.RecipientRate,
		InviteMinAge:      cfg.InviteMinAge,
		InviteReminder:    cfg.InviteReminder,
		EarnAfter:         cfg.EarnAfter,
		EarnAmount:        cfg.EarnAmount,
		LinkSecret:        secret,
	})
	return &app{db: db, store: store}, nil
}

// close lets queued writes finish, then closes the database.
func (a *app) close() {
	a.store.Close()
	a.db.Close()
}
