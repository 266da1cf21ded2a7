package models_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

func TestRewritePlaceholders(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT * FROM t WHERE a = ? AND b = ?`, `SELECT * FROM t WHERE a = $1 AND b = $2`},
		{`WHERE a = ?1 OR b = ?1 AND c > ?2`, `WHERE a = $1 OR b = $1 AND c > $2`},
		{`VALUES (?3, ?, ?1)`, `VALUES ($3, $4, $1)`}, // bare ? is one past the largest so far, as in SQLite
		{`VALUES (?12)`, `VALUES ($12)`},
		{`SELECT '?' , ?`, `SELECT '?' , $1`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT E'\'?', ?`, `SELECT E'\'?', $1`},
		{`SELECT '\', ?`, `SELECT '\', $1`}, // a standard string ends at its quote, backslash or not
		{`SELECT "odd?col" FROM t WHERE x = ?`, `SELECT "odd?col" FROM t WHERE x = $1`},
		{"SELECT 1 -- why?\nWHERE a = ?", "SELECT 1 -- why?\nWHERE a = $1"},
		{`SELECT /* a ? /* nested ? */ still ? */ ?`, `SELECT /* a ? /* nested ? */ still ? */ $1`},
		{`DO $$ BEGIN PERFORM '?'; END $$; SELECT ?`, `DO $$ BEGIN PERFORM '?'; END $$; SELECT $1`},
		{`SELECT $tag$ ? $x$ ? $tag$, ?`, `SELECT $tag$ ? $x$ ? $tag$, $1`},
		{`SELECT $1, $2`, `SELECT $1, $2`}, // already PostgreSQL's
		{`SELECT token FROM sessions WHERE token = $1 AND x = ?`, `SELECT token FROM sessions WHERE token = $1 AND x = $1`},
		{`SELECT a$b, ?`, `SELECT a$b, $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
		{`SELECT "unterminated ?`, `SELECT "unterminated ?`},
		{`SELECT /* unterminated ?`, `SELECT /* unterminated ?`},
		{`SELECT $$ unterminated ?`, `SELECT $$ unterminated ?`},
		{`?`, `$1`},
		{`a=?,b=?,c=?,d=?,e=?,f=?,g=?,h=?,i=?,j=?`, `a=$1,b=$2,c=$3,d=$4,e=$5,f=$6,g=$7,h=$8,i=$9,j=$10`},
		{`x - ?`, `x - $1`},
		{`x / ?`, `x / $1`},
	} {
		if got := models.RewritePlaceholders(tc.in); got != tc.want {
			t.Errorf("RewritePlaceholders(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func FuzzRewritePlaceholders(f *testing.F) {
	for _, s := range []string{`SELECT ? '?' "?" -- ?`, `/* ? */ ?1 $$?$$ E'\'?'`, `$a$?$a$?`, `??1?`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got := models.RewritePlaceholders(q)
		if !strings.Contains(q, "?") && got != q {
			t.Fatalf("changed a query without placeholders: %q -> %q", q, got)
		}
		if strings.Count(got, "?") > strings.Count(q, "?") {
			t.Fatalf("made placeholders: %q -> %q", q, got)
		}
		if strings.Count(got, "'") != strings.Count(q, "'") || strings.Count(got, `"`) != strings.Count(q, `"`) {
			t.Fatalf("quotes changed: %q -> %q", q, got)
		}
	})
}

func TestOpenChoosesTheEngine(t *testing.T) {
	for _, dsn := range []string{"postgres://x", "POSTGRESQL://x", "postgresql://u:p@h/db"} {
		if !models.IsPostgresURL(dsn) {
			t.Errorf("%q is not taken for PostgreSQL", dsn)
		}
	}
	for _, dsn := range []string{"./data/beckon.db", "/var/lib/beckon/postgres.db", "postgres.db"} {
		if models.IsPostgresURL(dsn) {
			t.Errorf("%q is taken for PostgreSQL", dsn)
		}
	}
	if _, err := models.Open("postgres://beckon:hunter2@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("opened a server that is not there")
	} else if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error repeats the password: %v", err)
	}
	forEachEngine(t, func(t *testing.T, db *sql.DB) {
		want := models.SQLite
		if strings.HasSuffix(t.Name(), "PostgreSQL") {
			want = models.Postgres
		}
		if got := models.EngineOf(db); got != want {
			t.Errorf("EngineOf = %v; want %v", got, want)
		}
	})
}

// TestMigrateTwiceIsSafeOnBothEngines is TestMigrateTwiceIsSafe on both
// engines, with a user written and read back through the shared SQL.
func TestMigrateTwiceIsSafeOnBothEngines(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		applied, err := models.Migrate(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Errorf("second Migrate applied %v; want nothing", applied)
		}
		id := insertUser(t, db, "ann@example.com", "ann", 2)
		if _, err := models.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		u, err := models.New(db, models.Options{}).Users.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "ann" || !u.Staff || u.Allocation.Allocated != 2 || u.Allocation.Unlimited {
			t.Errorf("read back %+v", u)
		}
		if v, err := models.SchemaVersion(ctx, db); err != nil || v == "" {
			t.Errorf("SchemaVersion = %q, %v", v, err)
		}
	})
}

// insertUser adds a verified staff user with an allocation through SQL
// both engines share (RETURNING instead of LastInsertId, TRUE for flags).
func insertUser(t testing.TB, db *sql.DB, email, username string, allocated int) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow(`INSERT INTO users (email, email_key, username, password_hash, is_staff, email_verified_at, joined_at)
		VALUES (?1, ?1, ?2, 'x', TRUE, 1, 1) RETURNING id`, email, username).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO allocations (user_id, allocated, unlimited) VALUES (?, ?, ?)`, id, allocated, false); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestMigrateRefusesANewerSchema(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sql.DB) {
		if _, err := db.Exec(`INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_from_the_future.sql', 0)`); err != nil {
			t.Fatal(err)
		}
		_, err := models.Migrate(context.Background(), db)
		if !errors.Is(err, models.ErrNewerSchema) || !strings.Contains(err.Error(), "9999_from_the_future") {
			t.Errorf("Migrate = %v; want ErrNewerSchema naming the migration", err)
		}
	})
}

func TestEngineFragments(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sql.DB) {
		e := models.EngineOf(db)
		var contains, missing bool
		err := db.QueryRow(`SELECT `+e.Contains("'staff@example.com'", "CAST(?1 AS TEXT)")+`, `+e.Contains("'staff@example.com'", "'zz'"), "ff@").
			Scan(&contains, &missing)
		if err != nil {
			t.Fatal(err)
		}
		var lowered string
		if err := db.QueryRow(`SELECT ` + e.LowerASCII("'Ann.Kate@EXAMPLE.com'")).Scan(&lowered); err != nil || lowered != "ann.Kate@example.com" {
			t.Errorf("LowerASCII = %q, %v", lowered, err)
		}
		if !contains || missing {
			t.Errorf("contains %v missing %v", contains, missing)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + e.IndexedBy("invitations", "invitations_pending_expiry_idx") +
			` WHERE status = 'pending' AND expires_at <= ` + e.Now()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		id := insertUser(t, db, "ann@example.com", "ann", 0)
		// The shared upsert that replaces INSERT OR IGNORE.
		for range 2 {
			if _, err := db.Exec(`INSERT INTO allocations (user_id, allocated) VALUES (?, 7) ON CONFLICT DO NOTHING`, id); err != nil {
				t.Fatal(err)
			}
		}
		// Flags compare with TRUE and FALSE on both.
		if err := db.QueryRow(`SELECT count(*) FROM allocations WHERE unlimited = FALSE AND user_id = ?`, id).Scan(&n); err != nil || n != 1 {
			t.Errorf("unlimited = FALSE: %d, %v", n, err)
		}
		_, err = db.Exec(`INSERT INTO users (email, email_key, username, password_hash, joined_at) VALUES ('b', 'ann@example.com', 'bob', 'x', 1)`)
		if !models.IsUniqueViolation(err, "users.email_key", "users_email_key_key") {
			t.Errorf("duplicate email: %v; want a unique violation on email_key", err)
		}
		if models.IsUniqueViolation(err, "users.username", "users_username_key") {
			t.Errorf("duplicate email taken for a duplicate username: %v", err)
		}
		_, err = db.Exec(`INSERT INTO users (email, email_key, username, password_hash, joined_at) VALUES ('b', 'b', 'ann', 'x', 1)`)
		if !models.IsUniqueViolation(err, "users.username", "users_username_key") {
			t.Errorf("duplicate username: %v", err)
		}
	})
}

// The invitation_days triggers (SQLite triggers, plpgsql functions in
// PostgreSQL) keep the same totals.
func TestInvitationDaysTriggersAgree(t *testing.T) {
	const day = 86400
	forEachEngine(t, func(t *testing.T, db *sql.DB) {
		uid := insertUser(t, db, "ann@example.com", "ann", 5)
		insert := func(key, status string, created int64, accepted any) int64 {
			t.Helper()
			var id int64
			if err := db.QueryRow(`INSERT INTO invitations (inviter_id, email, email_key, status, created_at, sent_at, expires_at, accepted_at)
				VALUES (?1, ?2, ?2, ?3, ?4, ?4, ?5, ?6) RETURNING id`, uid, key, status, created, created+100, accepted).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		a := insert("a", "pending", 10*day, nil)
		insert("b", "pending", 10*day+5, nil)
		c := insert("c", "accepted", 11*day, int64(12*day)) // inserted already ended
		if _, err := db.Exec(`UPDATE invitations SET status = 'expired', ended_at = ? WHERE id = ?`, 13*day, a); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE invitations SET status = 'revoked', revoked_at = ?, accepted_at = NULL WHERE id = ?`, 14*day, c); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`DELETE FROM invitations WHERE id = ?`, a); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(`SELECT day, sent, accepted, joined_independently, expired, revoked FROM invitation_days
			WHERE sent + accepted + joined_independently + expired + revoked <> 0 ORDER BY day`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var d, s, ac, j, e, r int64
			if err := rows.Scan(&d, &s, &ac, &j, &e, &r); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d:%d/%d/%d/%d/%d", d, s, ac, j, e, r))
		}
		// Day 10: a (deleted) and b sent; 11: c sent; 14: c revoked (its
		// acceptance on day 12 undone; a's expiry on 13 undone by the delete).
		want := "10:1/0/0/0/0 11:1/0/0/0/0 14:0/0/0/0/1"
		if strings.Join(got, " ") != want {
			t.Errorf("invitation_days = %s; want %s", strings.Join(got, " "), want)
		}
	})
}

// Every connection of a SQLite database keeps its temporary files, the
// savepoints' sub-journal among them, in memory (see sqliteDriver).
func TestSQLiteKeepsTemporaryFilesInMemory(t *testing.T) {
	db := testdb.Open(t, "temp.db")
	if models.EngineOf(db) != models.SQLite {
		t.Skip("SQLite only")
	}
	ctx := context.Background()
	var conns []*sql.Conn
	for range 3 { // distinct pooled connections, each opened through the hook
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var store int
		if err := c.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&store); err != nil || store != 2 {
			t.Errorf("temp_store = %d, %v; want 2 (memory)", store, err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}
