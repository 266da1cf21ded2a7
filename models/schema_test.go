package models_test

import (
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// column is what the schema comparison keeps of a column.
type column struct {
	family  string // integer, text, blob, bool, real, time
	notNull bool
}

// schema is a migrated database's shape: columns by table, and the names
// of the explicit indexes (with "unique " before the unique ones) and
// triggers.
type schema struct {
	tables   map[string]map[string]column
	indexes  []string
	triggers []string
}

// allowedDifferences are the columns whose types differ on purpose.
var allowedDifferences = map[string]string{
	// Each engine's scs store keeps expiry in its own type: a Julian day
	// (REAL) for sqlite3store, a timestamptz for postgresstore.
	"sessions.expiry": "real/time",
}

// TestSchemasAgree migrates a fresh SQLite and a fresh PostgreSQL database
// and compares them table by table, so that the two migration folders
// cannot drift apart: every SQLite migration has a PostgreSQL twin of the
// same name, and together they make the same tables, columns (type family
// and nullability; SQLite's flags are integers where PostgreSQL's are
// booleans), indexes and triggers.
func TestSchemasAgree(t *testing.T) {
	lite, pg := openEngine(t, models.SQLite), openEngine(t, models.Postgres)

	liteNames, err := models.MigrationNames(models.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pgNames, err := models.MigrationNames(models.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if missing := without(liteNames, pgNames); len(missing) > 0 {
		t.Errorf("SQLite migrations with no PostgreSQL twin in migrations/postgres/: %s", strings.Join(missing, ", "))
	}
	if extra := without(pgNames, liteNames); len(extra) > 0 {
		t.Errorf("PostgreSQL migrations with no SQLite original: %s", strings.Join(extra, ", "))
	}

	a, b := sqliteSchema(t, lite), postgresSchema(t, pg)
	for _, table := range union(keys(a.tables), keys(b.tables)) {
		ca, inA := a.tables[table]
		cb, inB := b.tables[table]
		switch {
		case !inA:
			t.Errorf("table %s is only in PostgreSQL", table)
			continue
		case !inB:
			t.Errorf("table %s is only in SQLite", table)
			continue
		}
		for _, name := range union(keys(ca), keys(cb)) {
			x, inA := ca[name]
			y, inB := cb[name]
			col := table + "." + name
			switch {
			case !inA:
				t.Errorf("column %s is only in PostgreSQL", col)
			case !inB:
				t.Errorf("column %s is only in SQLite", col)
			case x.notNull != y.notNull:
				t.Errorf("column %s: NOT NULL is %v in SQLite, %v in PostgreSQL", col, x.notNull, y.notNull)
			case x.family == y.family, x.family == "integer" && y.family == "bool",
				allowedDifferences[col] == x.family+"/"+y.family:
			default:
				t.Errorf("column %s: %s in SQLite, %s in PostgreSQL", col, x.family, y.family)
			}
		}
	}
	for what, pair := range map[string][2][]string{"index": {a.indexes, b.indexes}, "trigger": {a.triggers, b.triggers}} {
		for _, n := range without(pair[0], pair[1]) {
			t.Errorf("%s %s is only in SQLite", what, n)
		}
		for _, n := range without(pair[1], pair[0]) {
			t.Errorf("%s %s is only in PostgreSQL", what, n)
		}
	}
}

func sqliteSchema(t *testing.T, db *sql.DB) schema {
	t.Helper()
	s := schema{tables: map[string]map[string]column{}}
	for _, table := range strings1(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`) {
		rows, err := db.Query(fmt.Sprintf(`SELECT name, type, "notnull", pk FROM pragma_table_info('%s')`, table))
		if err != nil {
			t.Fatal(err)
		}
		cols := map[string]column{}
		for rows.Next() {
			var name, typ string
			var notNull bool
			var pk int // the column's place in the primary key (2 and on in a composite one), 0 if none
			if err := rows.Scan(&name, &typ, &notNull, &pk); err != nil {
				t.Fatal(err)
			}
			// A primary key is never NULL in practice (the rowid alias cannot be).
			cols[name] = column{family: family(typ), notNull: notNull || pk > 0}
		}
		rows.Close()
		s.tables[table] = cols
	}
	s.indexes = strings1(t, db, `SELECT CASE WHEN l."unique" THEN 'unique ' ELSE '' END || m.name
		FROM sqlite_master m JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name
		WHERE m.type = 'index' AND m.sql IS NOT NULL`)
	s.triggers = strings1(t, db, `SELECT name FROM sqlite_master WHERE type = 'trigger'`)
	return s
}

func postgresSchema(t *testing.T, db *sql.DB) schema {
	t.Helper()
	s := schema{tables: map[string]map[string]column{}}
	rows, err := db.Query(`SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'NO'
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name, typ string
		var notNull bool
		if err := rows.Scan(&table, &name, &typ, &notNull); err != nil {
			t.Fatal(err)
		}
		if s.tables[table] == nil {
			s.tables[table] = map[string]column{}
		}
		s.tables[table][name] = column{family: family(typ), notNull: notNull}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Indexes that back a constraint (primary keys, UNIQUE columns) are
	// SQLite's automatic ones, left out on both sides.
	s.indexes = strings1(t, db, `SELECT CASE WHEN x.indisunique THEN 'unique ' ELSE '' END || i.relname
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
		WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`)
	s.triggers = strings1(t, db, `SELECT DISTINCT trigger_name FROM information_schema.triggers WHERE trigger_schema = current_schema()`)
	return s
}

// family normalises a declared type: SQLite's affinity names and
// PostgreSQL's data_type both map to one word.
func family(typ string) string {
	t := strings.ToLower(typ)
	switch {
	case t == "boolean":
		return "bool"
	case strings.Contains(t, "int"):
		return "integer"
	case strings.Contains(t, "char"), strings.Contains(t, "text"):
		return "text"
	case t == "blob", t == "bytea":
		return "blob"
	case strings.HasPrefix(t, "timestamp"):
		return "time"
	case t == "real", strings.HasPrefix(t, "double"), t == "numeric":
		return "real"
	}
	return t
}

func strings1(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// union is the sorted names in a or b.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	sort.Strings(out)
	return slices.Compact(out)
}

// without is the names of a not in b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
