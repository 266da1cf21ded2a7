// Package models is Beckon's storage: users, tokens, invitations, the email
// outbox, events and the audit log, as raw SQL over SQLite or PostgreSQL.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/beckon-app/beckon/migrations"
)

// Open opens the database dsn names: a postgres:// or postgresql:// URL is
// a PostgreSQL database, anything else the path of a SQLite file (created
// if needed). EngineOf tells the two apart afterwards.
func Open(dsn string) (*sql.DB, error) {
	if IsPostgresURL(dsn) {
		return openPostgres(dsn)
	}
	return openSQLite(dsn)
}

// ErrNewerSchema is Migrate's refusal of a database migrated by a newer
// Beckon: running older code on a newer schema could corrupt it.
var ErrNewerSchema = errors.New("models: the database was migrated by a newer version of Beckon")

// MigrationFiles returns the migrations of engine e, NNNN_name.sql at the root.
func MigrationFiles(e Engine) fs.FS {
	if e == Postgres {
		return migrations.Postgres
	}
	return migrations.Files
}

// MigrationNames lists the migrations of engine e in the order they apply.
func MigrationNames(e Engine) ([]string, error) {
	names, err := fs.Glob(MigrationFiles(e), "*.sql")
	if err != nil {
		return nil, fmt.Errorf("models: list migrations: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// migrator is what Migrate runs on: one connection, so that PostgreSQL's
// session advisory lock covers every migration.
type migrator interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// Migrate applies, in order and each in its own transaction, every embedded
// migration of the database's engine not yet recorded in schema_migrations.
// Running it again is a no-op. On PostgreSQL it holds an advisory lock
// throughout, so that processes starting together migrate one at a time
// (on SQLite each migration's BEGIN IMMEDIATE does the same). It refuses,
// with ErrNewerSchema, a database that records a migration this binary
// does not have.
func Migrate(ctx context.Context, db *sql.DB) (applied []string, err error) {
	e := EngineOf(db)
	names, err := MigrationNames(e)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("models: migrate: %w", err)
	}
	defer conn.Close()
	if e == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, int64(pgAdvisoryKey)); err != nil {
			return nil, fmt.Errorf("models: take the migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, int64(pgAdvisoryKey))
	}
	if _, err := conn.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("models: create schema_migrations: %w", err)
	}
	if err := refuseNewer(ctx, conn, names); err != nil {
		return nil, err
	}
	for _, name := range names {
		done, err := applyMigration(ctx, conn, e, name)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, strings.TrimSuffix(name, ".sql"))
		}
	}
	return applied, nil
}

// refuseNewer fails with ErrNewerSchema when schema_migrations names a
// migration that is not among known.
func refuseNewer(ctx context.Context, db migrator, known []string) error {
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return fmt.Errorf("models: read schema_migrations: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for _, n := range known {
		have[n] = true
	}
	var unknown []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("models: read schema_migrations: %w", err)
		}
		if !have[n] {
			unknown = append(unknown, strings.TrimSuffix(n, ".sql"))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("models: read schema_migrations: %w", err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("%w (it has %s, which this binary lacks): upgrade Beckon instead", ErrNewerSchema, strings.Join(unknown, ", "))
	}
	return nil
}

func applyMigration(ctx context.Context, db migrator, e Engine, name string) (bool, error) {
	body, err := fs.ReadFile(MigrationFiles(e), name)
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
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, `+e.Now()+`)`, name); err != nil {
		return false, fmt.Errorf("models: record migration %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("models: commit migration %s: %w", name, err)
	}
	return true, nil
}

// SchemaVersion returns the latest migration applied to db ("" for none),
// without its .sql.
func SchemaVersion(ctx context.Context, db *sql.DB) (string, error) {
	var name sql.NullString
	err := db.QueryRowContext(ctx, `SELECT max(name) FROM schema_migrations`).Scan(&name)
	if err != nil {
		return "", fmt.Errorf("models: read schema_migrations: %w", err)
	}
	return strings.TrimSuffix(name.String, ".sql"), nil
}
