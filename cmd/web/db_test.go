package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/sqlite3store"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/pgtest"
	"github.com/beckon-app/beckon/models/testdb"
)

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, env(), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^beckon dev \(schema \d{4}_[a-z_]+\)\n$`).MatchString(out.String()) {
		t.Errorf("version printed %q", out.String())
	}
	err := run(context.Background(), []string{"version", "extra"}, env(), nil, io.Discard, io.Discard)
	if !errors.As(err, new(usageError)) {
		t.Errorf("version extra: %v; want a usage error", err)
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := seedSQLite(t)
	getenv := env("BECKON_DB", src)
	file := filepath.Join(dir, "copy.db")
	var out bytes.Buffer
	if err := run(ctx, []string{"backup", file}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "backed up "+src+" to "+file+" (") {
		t.Errorf("backup printed %q", out.String())
	}
	if got, want := state(t, file), state(t, src); got != want || want == "" {
		t.Errorf("the backup holds %q; the database %q", got, want)
	}
	for _, tc := range []struct {
		args []string
		vars []string
		want string
	}{
		{[]string{"backup", file}, []string{"BECKON_DB", src}, "already exists"},
		{[]string{"backup"}, []string{"BECKON_DB", src}, "usage"},
		{[]string{"backup", "a", "b"}, []string{"BECKON_DB", src}, "usage"},
		{[]string{"backup", filepath.Join(dir, "x.db")}, []string{"BECKON_DB", filepath.Join(dir, "missing.db")}, "no database"},
		{[]string{"backup", filepath.Join(dir, "y.db")}, []string{"BECKON_DB", "postgres://u:p@127.0.0.1:1/db"}, "pg_dump"},
	} {
		err := run(ctx, tc.args, env(tc.vars...), nil, io.Discard, io.Discard)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want a usage error saying %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("backup created the database it did not find")
	}
}

func TestDBCopyRefusesBadArguments(t *testing.T) {
	src := seedSQLite(t)
	for _, tc := range []struct {
		args []string
		db   string
	}{
		{[]string{"db"}, src},
		{[]string{"db", "move", "--to", "postgres://x/y"}, src},
		{[]string{"db", "copy"}, src},
		{[]string{"db", "copy", "--to", "other.db"}, src},
		{[]string{"db", "copy", "--to", "postgres://x/y", "extra"}, src},
		{[]string{"db", "copy", "--nope"}, src},
		{[]string{"db", "copy", "--to", "postgres://x/y"}, "postgres://x/z"},
		{[]string{"db", "copy", "--to", "postgres://x/y"}, filepath.Join(t.TempDir(), "missing.db")},
	} {
		err := run(context.Background(), tc.args, env("BECKON_DB", tc.db), nil, io.Discard, io.Discard)
		if !errors.As(err, new(usageError)) {
			t.Errorf("%v (BECKON_DB %s): %v; want a usage error", tc.args, tc.db, err)
		}
	}
}

func TestDBCopyToPostgres(t *testing.T) {
	ctx := context.Background()
	src := seedSQLite(t)
	// A live session, as sqlite3store writes it (expiry a Julian day).
	lite, err := models.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	expiry := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	if err := sqlite3store.New(lite).Commit("tok", []byte("session data"), expiry); err != nil {
		t.Fatal(err)
	}
	lite.Close()
	to := pgtest.URL(t, testdb.Migrate)
	var out bytes.Buffer
	if err := run(ctx, []string{"db", "copy", "--to", to}, env("BECKON_DB", src), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, want := range []string{"users: 3 rows", "allocations: 3 rows", "invitations: 1 row", "sessions: 1 row", "invitation_days: 1 row"} {
		if !contains(lines, want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "copied ") || !strings.Contains(last, "from "+src) || strings.Contains(last, ":beckon@") {
		t.Errorf("last line %q", last)
	}
	if got, want := state(t, to), state(t, src); got != want {
		t.Errorf("PostgreSQL holds %q; SQLite %q", got, want)
	}
	pg, err := models.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	// The triggers did not count the copied invitation again.
	var sent int
	if err := pg.QueryRow(`SELECT sum(sent) FROM invitation_days`).Scan(&sent); err != nil || sent != 1 {
		t.Errorf("invitation_days counts %d sent (%v); want 1", sent, err)
	}
	var gotExpiry time.Time
	var data []byte
	if err := pg.QueryRow(`SELECT data, expiry FROM sessions WHERE token = 'tok'`).Scan(&data, &gotExpiry); err != nil {
		t.Fatal(err)
	}
	if string(data) != "session data" || gotExpiry.Sub(expiry).Abs() > 10*time.Millisecond {
		t.Errorf("session %q until %v; want until %v", data, gotExpiry, expiry)
	}
	// The id sequences continue after the copied rows, and the triggers are back.
	var id int64
	if err := pg.QueryRow(`INSERT INTO users (email, email_key, username, password_hash, joined_at)
		VALUES ('d', 'd', 'dan', 'x', 1) RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != 4 {
		t.Errorf("the next user id is %d; want 4", id)
	}
	if _, err := pg.Exec(`INSERT INTO invitations (inviter_id, email, email_key, created_at, sent_at, expires_at) VALUES (?, 'e', 'e', 0, 0, 1)`, id); err != nil {
		t.Fatal(err)
	}
	if err := pg.QueryRow(`SELECT sum(sent) FROM invitation_days`).Scan(&sent); err != nil || sent != 2 {
		t.Errorf("after a new invitation invitation_days counts %d (%v); want 2", sent, err)
	}
	// A database with data in it is refused, and left as it was.
	err = run(ctx, []string{"db", "copy", "--to", to}, env("BECKON_DB", src), nil, io.Discard, io.Discard)
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second copy: %v; want a refusal", err)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}
