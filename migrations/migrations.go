// Package migrations embeds Beckon's numbered, forward-only SQL migrations:
// the SQLite ones in this folder, and in postgres/ their PostgreSQL twins,
// under the same names, so that schema_migrations reads the same on both
// engines. The runner that applies them lives in models.
package migrations

import (
	"embed"
	"io/fs"
)

// Files holds every NNNN_name.sql file of this folder (SQLite).
//
//go:embed *.sql
var Files embed.FS

//go:embed postgres/*.sql
var postgresFiles embed.FS

// Postgres holds the PostgreSQL migrations, NNNN_name.sql at its root like
// Files.
var Postgres fs.FS = sub(postgresFiles, "postgres")

func sub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // only for a bad literal dir
	}
	return s
}
