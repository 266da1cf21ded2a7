package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Engine is the database engine a *sql.DB talks to. The model code writes
// the SQL both engines share (RETURNING, ON CONFLICT, FILTER, partial
// indexes, `?` placeholders); the few fragments that differ come from the
// methods below, each implemented in engine_sqlite.go and
// engine_postgres.go, so that a difference between the engines has one
// place to live.
type Engine int

const (
	SQLite Engine = iota
	Postgres
)

// insertID runs query, an INSERT of one row into a table whose key is id,
// in tx and returns the new row's id. On SQLite that is an Exec and the
// connection's last insert rowid (a trigger's inserts do not change it):
// RETURNING makes SQLite buffer the returned row in a temporary table, and
// an insert with it cost three times one without (3.8 against 1.3 µs,
// docs/performance.md). PostgreSQL has no last insert id; there the
// statement returns it.
func insertID(ctx context.Context, tx *sql.Tx, e Engine, query string, args ...any) (int64, error) {
	if e == SQLite {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	var id int64
	err := tx.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

func (e Engine) String() string {
	if e == Postgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

// EngineOf tells which engine db was opened on (by Open).
func EngineOf(db *sql.DB) Engine {
	if _, ok := db.Driver().(pgDriver); ok {
		return Postgres
	}
	return SQLite
}

// IndexedBy names table for a FROM clause, pinned to index on SQLite (whose
// planner picks a worse index for a few queries); PostgreSQL has no such
// hint and plans from statistics.
func (e Engine) IndexedBy(table, index string) string {
	if e == Postgres {
		return table
	}
	return table + " INDEXED BY " + index
}

// Contains is the SQL condition that text contains the substring sub (both
// SQL expressions): instr on SQLite, strpos on PostgreSQL.
func (e Engine) Contains(text, sub string) string {
	if e == Postgres {
		return fmt.Sprintf("strpos(%s, %s) > 0", text, sub)
	}
	return fmt.Sprintf("instr(%s, %s) > 0", text, sub)
}

// Now is the SQL expression for the current Unix time in seconds. Model
// code passes its clock's time as a parameter instead wherever it can (the
// tests move that clock); this is for migrations and defaults.
func (e Engine) Now() string {
	if e == Postgres {
		return "extract(epoch FROM now())::bigint"
	}
	return "unixepoch()"
}

// IsUniqueViolation reports whether err is a unique constraint failing, and
// if so on which index or constraint: PostgreSQL names the constraint
// (users_email_key_key) or unique index; SQLite names the columns
// (users.email_key), so name is matched against either: pass the column
// list SQLite reports, e.g. IsUniqueViolation(err, "users.email_key",
// "users_email_key_key"). With no names, any unique violation matches.
func IsUniqueViolation(err error, names ...string) bool {
	if detail, ok := pgUniqueViolation(err); ok {
		return matchesAny(detail, names)
	}
	if detail, ok := sqliteUniqueViolation(err); ok {
		return matchesAny(detail, names)
	}
	return false
}

func matchesAny(detail string, names []string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if detail == n {
			return true
		}
	}
	return false
}

// LowerASCII lower-cases the letters A-Z of a SQL text expression and no
// others (the email-key rule): SQLite's lower() does just that;
// PostgreSQL's follows the database's locale, so it is a translate().
func (e Engine) LowerASCII(expr string) string {
	if e == Postgres {
		return "translate(" + expr + ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
	}
	return "lower(" + expr + ")"
}

// JSONObject is the SQL expression for a JSON object's text built from
// key, value pairs of SQL expressions: SQLite's json_object, PostgreSQL's
// json_build_object (cast to text, the type of events.data). A parameter
// among the values needs a CAST on PostgreSQL, which cannot infer its type.
func (e Engine) JSONObject(pairs ...string) string {
	if e == Postgres {
		return "json_build_object(" + strings.Join(pairs, ", ") + ")::text"
	}
	return "json_object(" + strings.Join(pairs, ", ") + ")"
}

// SkipLocked ends a SELECT that picks rows to claim: on PostgreSQL it locks
// them and passes over the rows another transaction holds locked (FOR
// UPDATE SKIP LOCKED), so that processes claiming at once take different
// rows; SQLite's single writer needs nothing.
func (e Engine) SkipLocked() string {
	if e == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}
