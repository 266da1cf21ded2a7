// Package models is Beckon's storage: users, tokens, invitations, the email
// outbox, events and the audit log, as raw SQL over SQLite.
package models

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	_ "github.com/mattn/go-sqlite3" // the database/sql driver "sqlite3"

	"github.com/beckon-app/beckon/migrations"
)

// Open opens (creating if needed) the SQLite database at path, with the
// pragmas every pooled connection needs set in the DSN: foreign keys, WAL,
// a busy timeout, and write transactions that take the lock at BEGIN so two
// writers never deadlock upgrading a read lock.
func Open(path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("models: create database folder: %w", err)
		}
	}
	q := url.Values{}
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	q.Set("_synchronous", "NORMAL")
	q.Set("_cache_size", "-16000")
	// Reuse prepared statements: preparing is a quarter of a small write.
	q.Set("_stmt_cache_size", "64")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	// SQLite allows one writer at a time (which keeps a connection of its
	// own, see core.commit); readers run in parallel under WAL, but more of
	// them than cores only fight the writer for CPU: the load run was
	// fastest with three readers on two cores.
	conns := runtime.NumCPU() + 2
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	return db, nil
}

// Migrate applies, in order and each in its own transaction, every embedded
// migration not yet recorded in schema_migrations. Running it again is a no-op.
func Migrate(ctx context.Context, db *sql.DB) (applied []string, err error) {
	if _, err := db.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return nil, fmt.Errorf("models: create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations.Files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("models: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		done, err := applyMigration(ctx, db, name)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, strings.TrimSuffix(name, ".sql"))
		}
	}
	return applied, nil
}

func applyMigration(ctx context.Context, db *sql.DB, name string) (bool, error) {
	body, err := fs.ReadFile(migrations.Files, name)
	if err != nil {
		return false, fmt.Errorf("models: read migration %s: %w", name, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("models: begin migration %s: %w", name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return false, fmt.Errorf("models: check migration %s: %w", name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return false, fmt.Errorf("models: apply migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, unixepoch())`, name); err != nil {
		return false, fmt.Errorf("models: record migration %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("models: commit migration %s: %w", name, err)
	}
	return true, nil
}
