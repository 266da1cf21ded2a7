// Package pgtest gives each test a fresh, migrated PostgreSQL database, for
// the tests that run on both engines. It is imported by tests only.
//
// BECKON_TEST_POSTGRES_URL names a server and a role that may create
// databases (postgres://beckon:beckon@127.0.0.1:5432/postgres?sslmode=disable;
// .ci/run sets one up). Without it the PostgreSQL tests skip, except under
// CI=true, where they fail: CI must not pass without them.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx", for the admin connection

	"github.com/beckon-app/beckon/migrations"
)

// EnvVar names the server the PostgreSQL tests use.
const EnvVar = "BECKON_TEST_POSTGRES_URL"

var (
	adminOnce, templateOnce sync.Once
	admin                   *sql.DB
	adminErr, templateErr   error
	template                string
)

// Migrate migrates the (empty) database at url; the caller passes
// models.Open and models.Migrate, which this package cannot import (the
// models' own tests use it).
type Migrate func(ctx context.Context, url string) error

// URL returns the URL of a new database, a copy of the migrated template,
// dropped when the test ends. It skips the test (fails it under CI=true)
// when BECKON_TEST_POSTGRES_URL is unset.
func URL(t testing.TB, migrate Migrate) string {
	t.Helper()
	base := server(t)
	templateOnce.Do(func() { templateErr = makeTemplate(base, migrate) })
	if templateErr != nil {
		t.Fatalf("pgtest: %v", templateErr)
	}
	return create(t, base, template)
}

// Empty returns the URL of a new database with nothing in it (not
// migrated), dropped when the test ends.
func Empty(t testing.TB) string {
	t.Helper()
	return create(t, server(t), "template0")
}

// server returns BECKON_TEST_POSTGRES_URL, having opened the admin
// connection, or skips (under CI, fails) the test.
func server(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is unset: CI must run the PostgreSQL tests (.ci/run starts a server)", EnvVar)
		}
		t.Skipf("PostgreSQL tests need %s (e.g. postgres://beckon:beckon@127.0.0.1:5432/postgres?sslmode=disable)", EnvVar)
	}
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", base)
		if adminErr == nil {
			admin.SetMaxOpenConns(4)
			adminErr = admin.Ping()
		}
	})
	if adminErr != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvVar, adminErr)
	}
	return base
}

func create(t testing.TB, base, from string) string {
	t.Helper()
	name := "beckon_test_" + randomHex(8)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, from)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE cannot end an autovacuum worker (the superuser's) that
		// happens to be on the database: it is gone a moment later.
		var err error
		for range 20 {
			if _, err = admin.ExecContext(context.Background(), fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("pgtest: drop database %s: %v", name, err)
	})
	return withDatabase(base, name)
}

// makeTemplate makes the template database once:
// its name carries a hash of the PostgreSQL migrations, so that every test
// binary (and every run) with the same migrations shares it, and a change
// to them makes a new one. It is built under another name and renamed, so
// a half-built template is never used.
func makeTemplate(base string, migrate Migrate) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := migrationsHash()
	if err != nil {
		return err
	}
	template = "beckon_tpl_" + sum
	conn, err := admin.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", EnvVar, err)
	}
	defer conn.Close()
	// Test binaries of several packages run at once: one builds.
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(4242001)`); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(4242001)`)
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, template).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	building := template + "_building"
	if _, err := conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+building); err != nil {
		return fmt.Errorf("create the template (the role needs CREATEDB): %w", err)
	}
	if err := migrate(ctx, withDatabase(base, building)); err != nil {
		return fmt.Errorf("migrate the template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+building+` RENAME TO `+template); err != nil {
		return fmt.Errorf("rename the template: %w", err)
	}
	return nil
}

func migrationsHash() (string, error) {
	names, err := fs.Glob(migrations.Postgres, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.Postgres, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// withDatabase is base with its database name replaced.
func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
