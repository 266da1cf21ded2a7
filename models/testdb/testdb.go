// Package testdb gives each test its database, on the engine the run asks
// for: a SQLite file in the test's folder, or, with
// BECKON_TEST_ENGINE=postgres, a fresh PostgreSQL database copied from the
// migrated template (models/pgtest; BECKON_TEST_POSTGRES_URL names the
// server). `make test` runs the suite once each way, so that every test
// that goes through this package proves its feature on both engines.
// It is imported by tests only.
package testdb

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/pgtest"
)

// EngineVar chooses the engine of the run: "postgres", or SQLite when unset.
const EngineVar = "BECKON_TEST_ENGINE"

// Postgres reports whether this run's tests use PostgreSQL.
func Postgres() bool { return os.Getenv(EngineVar) == "postgres" }

// Engine is this run's engine.
func Engine() models.Engine {
	if Postgres() {
		return models.Postgres
	}
	return models.SQLite
}

// DSN returns what models.Open takes for a fresh, migrated database of this
// run's engine (a PostgreSQL database is dropped when the test ends); name
// names the SQLite file in t.TempDir().
func DSN(t testing.TB, name string) string {
	t.Helper()
	return dsnFor(t, Engine(), name)
}

func dsnFor(t testing.TB, e models.Engine, name string) string {
	t.Helper()
	if e == models.Postgres {
		return pgtest.URL(t, Migrate)
	}
	return filepath.Join(t.TempDir(), name)
}

// Open opens a fresh, migrated database of this run's engine, closed when
// the test ends.
func Open(t testing.TB, name string) *sql.DB {
	t.Helper()
	return OpenEngine(t, Engine(), name)
}

// OpenEngine opens a fresh, migrated database of engine e whatever the
// run's engine (PostgreSQL's is skipped without BECKON_TEST_POSTGRES_URL),
// closed when the test ends: for the tests that hold the two side by side.
func OpenEngine(t testing.TB, e models.Engine, name string) *sql.DB {
	t.Helper()
	db, err := models.Open(dsnFor(t, e, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := models.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// Migrate opens and migrates the database at url (pgtest's template).
func Migrate(ctx context.Context, url string) error {
	db, err := models.Open(url)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = models.Migrate(ctx, db)
	return err
}

// SessionStore is the scs store serve uses on db's engine, without its
// cleanup goroutine.
func SessionStore(db *sql.DB) scs.Store {
	if models.EngineOf(db) == models.Postgres {
		return postgresstore.NewWithCleanupInterval(db, 0)
	}
	return sqlite3store.NewWithCleanupInterval(db, 0)
}

// SQLiteOnly skips a test that looks at SQLite itself (its files, PRAGMAs,
// sqlite_master, the single writer) when the run is on PostgreSQL.
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if Postgres() {
		t.Skip("SQLite only: " + why)
	}
}
