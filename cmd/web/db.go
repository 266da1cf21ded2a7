package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// The operations commands (SPEC section 14): version, backup and db copy,
// and the one place serve picks the session store of its engine.

// version is the release, set by `make build` with -ldflags "-X main.version=...".
var version = "dev"

// sessionStore is an scs store that cleans up expired sessions until stopped.
type sessionStore interface {
	scs.Store
	StopCleanup()
}

// newSessionStore keeps sessions in the database db is, in the table both
// engines' first migration makes for their scs store.
func newSessionStore(db *sql.DB) sessionStore {
	if models.EngineOf(db) == models.Postgres {
		return postgresstore.NewWithCleanupInterval(db, 10*time.Minute)
	}
	return sqlite3store.NewWithCleanupInterval(db, 10*time.Minute)
}

// versionCmd prints the release and the latest migration this binary
// carries (the newest schema it can run on).
func versionCmd(ctx context.Context, env *environment, name string, args []string) error {
	if len(args) > 0 {
		return usageError{errors.New("usage: beckon version")}
	}
	names, err := models.MigrationNames(models.SQLite)
	if err != nil {
		return err
	}
	schema := "none"
	if len(names) > 0 {
		schema = strings.TrimSuffix(names[len(names)-1], ".sql")
	}
	fmt.Fprintf(env.stdout, "beckon %s (schema %s)\n", version, schema)
	return nil
}

// backupCmd writes a consistent copy of the SQLite database to a new file,
// while the server may be running (VACUUM INTO reads one snapshot).
func backupCmd(ctx context.Context, env *environment, name string, args []string) error {
	if len(args) != 1 || args[0] == "" || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New("usage: beckon backup FILE")}
	}
	file := args[0]
	cfg, _, err := parseConfig("beckon", nil, env.getenv, env.stderr)
	if err != nil {
		return err
	}
	if models.IsPostgresURL(cfg.DB) {
		return usageError{errors.New("BECKON_DB is a PostgreSQL database: back it up with pg_dump (pg_dump -Fc -f FILE URL)")}
	}
	if _, err := os.Lstat(file); err == nil {
		return usageError{fmt.Errorf("%s already exists: backup writes a new file", file)}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return usageError{err}
	}
	if _, err := os.Stat(cfg.DB); err != nil {
		return usageError{fmt.Errorf("no database at %s (BECKON_DB)", cfg.DB)}
	}
	db, err := models.Open(cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, file); err != nil {
		return fmt.Errorf("back up %s to %s: %w", cfg.DB, file, err)
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "backed up %s to %s (%s bytes)\n", cfg.DB, file, views.Number(int(st.Size())))
	return nil
}

// dbCmd handles "db copy --to URL".
func dbCmd(ctx context.Context, env *environment, name string, args []string) error {
	const use = "usage: beckon db copy --to postgres://user:password@host:5432/dbname"
	if len(args) == 0 || args[0] != "copy" {
		return usageError{errors.New(use)}
	}
	fs := newFlags(env, "db copy")
	to := fs.String("to", "", "URL of an empty PostgreSQL database (required)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 || !models.IsPostgresURL(*to) {
		return usageError{errors.New(use)}
	}
	cfg, _, err := parseConfig("beckon", nil, env.getenv, env.stderr)
	if err != nil {
		return err
	}
	if models.IsPostgresURL(cfg.DB) {
		return usageError{errors.New("db copy copies a SQLite database: set BECKON_DB to its file")}
	}
	if _, err := os.Stat(cfg.DB); err != nil {
		return usageError{fmt.Errorf("no database at %s (BECKON_DB)", cfg.DB)}
	}
	src, err := models.Open(cfg.DB)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := models.Open(*to)
	if err != nil {
		return err
	}
	defer dst.Close()
	// Both at this binary's latest schema, so that the tables match.
	for _, db := range []*sql.DB{src, dst} {
		if _, err := models.Migrate(ctx, db); err != nil {
			return err
		}
	}
	counts, err := copyDatabase(ctx, src, dst)
	if err != nil {
		return err
	}
	total := 0
	for _, c := range counts {
		fmt.Fprintf(env.stdout, "%s: %s\n", c.table, views.Plural(c.rows, "row", "rows"))
		total += c.rows
	}
	fmt.Fprintf(env.stdout, "copied %s, %s, from %s to %s\n", views.Plural(len(counts), "table", "tables"),
		views.Plural(total, "row", "rows"), cfg.DB, redactURL(*to))
	return nil
}

// errNotEmpty refuses a target that already holds data.
var errNotEmpty = errors.New("the PostgreSQL database is not empty")

type tableCount struct {
	table string
	rows  int
}

// copyDatabase copies every table of the SQLite database src (but
// schema_migrations, which dst's own Migrate wrote) into dst, in one
// transaction: all of it or nothing. Tables go in the order of dst's
// foreign keys and rows in rowid order (a user's inviter comes first);
// values are converted to dst's column types (SQLite's 0/1 flags to
// booleans, sqlite3store's Julian-day expiries to timestamps); dst's
// triggers are off meanwhile (invitation_days is copied, not recounted);
// each identity sequence then continues after the largest id copied.
func copyDatabase(ctx context.Context, src, dst *sql.DB) ([]tableCount, error) {
	tables, err := sqliteTables(ctx, src)
	if err != nil {
		return nil, err
	}
	types, err := postgresColumns(ctx, dst)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if types[t] == nil {
			return nil, fmt.Errorf("db copy: table %s has no twin in PostgreSQL", t)
		}
	}
	if tables, err = inForeignKeyOrder(ctx, dst, tables); err != nil {
		return nil, err
	}
	tx, err := dst.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for _, t := range tables {
		if seededByMigrations[t] {
			// Its rows are the migrations' defaults: the source's replace them.
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+quoteIdent(t)); err != nil {
				return nil, fmt.Errorf("db copy: %s: %w", t, err)
			}
			continue
		}
		var has bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+quoteIdent(t)+`)`).Scan(&has); err != nil {
			return nil, fmt.Errorf("db copy: check %s: %w", t, err)
		}
		if has {
			return nil, usageError{fmt.Errorf("%w (table %s has rows): copy into a new database", errNotEmpty, t)}
		}
	}
	var counts []tableCount
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+quoteIdent(t)+` DISABLE TRIGGER USER`); err != nil {
			return nil, fmt.Errorf("db copy: %s: %w", t, err)
		}
		n, err := copyTable(ctx, src, tx, t, types[t])
		if err != nil {
			return nil, fmt.Errorf("db copy: %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+quoteIdent(t)+` ENABLE TRIGGER USER`); err != nil {
			return nil, fmt.Errorf("db copy: %s: %w", t, err)
		}
		for col, typ := range types[t] {
			if !typ.identity {
				continue
			}
			q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max(%s), 0) + 1, false) FROM %s`,
				quoteIdent(col), quoteIdent(t))
			if _, err := tx.ExecContext(ctx, q, t, col); err != nil {
				return nil, fmt.Errorf("db copy: reset the sequence of %s.%s: %w", t, col, err)
			}
		}
		counts = append(counts, tableCount{t, n})
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return counts, nil
}

// seededByMigrations are the tables whose rows a fresh database gets from
// its migrations (the one row of site settings), so that an empty database
// has rows there.
var seededByMigrations = map[string]bool{"site_settings": true}

// sqliteTables lists src's tables but SQLite's own and schema_migrations.
func sqliteTables(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("db copy: list tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// pgColumn is what copying needs of a PostgreSQL column.
type pgColumn struct {
	dataType string
	identity bool
}

func postgresColumns(ctx context.Context, db *sql.DB) (map[string]map[string]pgColumn, error) {
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type, is_identity = 'YES'
		FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("db copy: read the PostgreSQL columns: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]pgColumn{}
	for rows.Next() {
		var t, c string
		var col pgColumn
		if err := rows.Scan(&t, &c, &col.dataType, &col.identity); err != nil {
			return nil, err
		}
		if out[t] == nil {
			out[t] = map[string]pgColumn{}
		}
		out[t][c] = col
	}
	return out, rows.Err()
}

// inForeignKeyOrder sorts tables so that each comes after those its
// foreign keys reference (self-references aside), by name otherwise.
func inForeignKeyOrder(ctx context.Context, db *sql.DB, tables []string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
		FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, fmt.Errorf("db copy: read foreign keys: %w", err)
	}
	defer rows.Close()
	deps := map[string][]string{}
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			return nil, err
		}
		if from != to {
			deps[from] = append(deps[from], to)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Strings(tables)
	var out []string
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(t string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("db copy: the foreign keys of %s form a cycle", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, d := range deps[t] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[t] = 2
		out = append(out, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	// Referenced tables that SQLite lacks are not copied.
	want := map[string]bool{}
	for _, t := range tables {
		want[t] = true
	}
	kept := out[:0]
	for _, t := range out {
		if want[t] {
			kept = append(kept, t)
		}
	}
	return kept, nil
}

// copyBatch bounds the parameters of one INSERT (PostgreSQL allows 65,535).
const copyBatch = 8000

// copyTable copies table t's rows into tx, converting each value to its
// PostgreSQL column's type, in multi-row INSERTs.
func copyTable(ctx context.Context, src *sql.DB, tx *sql.Tx, t string, cols map[string]pgColumn) (int, error) {
	order := ` ORDER BY rowid`
	if _, err := src.ExecContext(ctx, `SELECT rowid FROM `+quoteIdent(t)+` LIMIT 0`); err != nil {
		order = "" // a WITHOUT ROWID table
	}
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+quoteIdent(t)+order)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		if _, ok := cols[n]; !ok {
			return 0, fmt.Errorf("column %s has no twin in PostgreSQL", n)
		}
		quoted[i] = quoteIdent(n)
	}
	perInsert := max(copyBatch/len(names), 1)
	var args []any
	pending, total := 0, 0
	flush := func() error {
		if pending == 0 {
			return nil
		}
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ") + ")"
		q := `INSERT INTO ` + quoteIdent(t) + ` (` + strings.Join(quoted, ", ") + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(one+", ", pending), ", ")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		total += pending
		args, pending = args[:0], 0
		return nil
	}
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		for i, v := range vals {
			cv, err := convert(v, cols[names[i]].dataType)
			if err != nil {
				return 0, fmt.Errorf("column %s: %w", names[i], err)
			}
			args = append(args, cv)
		}
		if pending++; pending == perInsert {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return total, nil
}

// convert turns a value SQLite returned into one for a PostgreSQL column of
// type dataType.
func convert(v any, dataType string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch dataType {
	case "boolean":
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case bool:
			return x, nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "text", "character varying":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case "bigint", "integer", "smallint":
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case "timestamp with time zone":
		switch x := v.(type) {
		case float64: // a Julian day, as sqlite3store writes expiry
			sec := (x - 2440587.5) * 86400
			whole, frac := math.Modf(sec)
			return time.Unix(int64(whole), int64(frac*1e9)).UTC(), nil
		case time.Time:
			return x, nil
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("cannot copy a %T into %s", v, dataType)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// redactURL is a database URL without its password, for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the PostgreSQL database"
	}
	return u.Redacted()
}
