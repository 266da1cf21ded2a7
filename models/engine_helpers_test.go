package models_test

import (
	"database/sql"
	"testing"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

// openEngine opens a fresh, migrated database of engine e for one test.
func openEngine(t testing.TB, e models.Engine) *sql.DB {
	t.Helper()
	return testdb.OpenEngine(t, e, "test.db")
}

// forEachEngine runs test once on SQLite and once on PostgreSQL, each on a
// fresh, migrated database.
func forEachEngine(t *testing.T, test func(t *testing.T, db *sql.DB)) {
	t.Helper()
	for _, e := range []models.Engine{models.SQLite, models.Postgres} {
		t.Run(e.String(), func(t *testing.T) { test(t, openEngine(t, e)) })
	}
}
