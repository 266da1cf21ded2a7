// Package migrations embeds Beckon's numbered, forward-only SQL migrations.
// The runner that applies them lives in models.
package migrations

import "embed"

// Files holds every NNNN_name.sql file of this folder.
//
//go:embed *.sql
var Files embed.FS
