package models_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/beckon-app/beckon/models/pgtest"
	"github.com/beckon-app/beckon/models"
)

// openEngine opens a fresh, migrated database of engine e for one test:
// a SQLite file in the test's folder, or a PostgreSQL database copied from
// the migrated template (pgtest; skipped without BECKON_TEST_POSTGRES_URL).
func openEngine(t testing.TB, e models.Engine) *sql.DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "test.db")
	if e == models.Postgres {
		dsn = pgtest.URL(t, migratePostgres)
	}
	db, err := models.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := models.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// migratePostgres builds pgtest's template.
func migratePostgres(ctx context.Context, url string) error {
	db, err := models.Open(url)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = models.Migrate(ctx, db)
	return err
}

// forEachEngine runs test once on SQLite and once on PostgreSQL, each on a
// fresh, migrated database.
func forEachEngine(t *testing.T, test func(t *testing.T, db *sql.DB)) {
	t.Helper()
	for _, e := range []models.Engine{models.SQLite, models.Postgres} {
		t.Run(e.String(), func(t *testing.T) { test(t, openEngine(t, e)) })
	}
}
