package models

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/mattn/go-sqlite3" // the database/sql driver "sqlite3"
)

// The SQLite side of the engine layer: the DSN and pool of a database file,
// and what SQLite's errors say (engine.go has the SQL fragments).

// sqliteDriver is mattn/go-sqlite3 with the pragmas its DSN cannot set.
const sqliteDriver = "beckon-sqlite3"

func init() {
	sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// Temporary files in memory, the sub-journal above all: the single
		// writer runs each job of a group in a savepoint, and SQLite copies
		// every page a job first changes into the sub-journal, which spilled
		// to a temporary file past 64 KiB. Under a burst of invitations
		// that was four 4 KiB writes for every page the write-ahead log
		// got, and the largest part of the writer's system time
		// (docs/performance.md). It never holds more than one group's pages.
		//
		// The log is checkpointed by the store in the background (store.go,
		// rule 5); SQLite's own checkpoint after a commit is left as a
		// backstop for a log past sqliteAutoCheckpoint pages.
		_, err := c.Exec("PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = "+strconv.Itoa(sqliteAutoCheckpoint), nil)
		return err
	}})
}

// sqliteInTransaction reports whether conn's SQLite connection is inside a
// transaction: SQLite ends one by itself when a statement fails with an
// interrupt, an I/O error or a full disk. (A connection of another driver
// answers true.)
func sqliteInTransaction(conn *sql.Conn) bool {
	in := true
	conn.Raw(func(dc any) error {
		if c, ok := dc.(*sqlite3.SQLiteConn); ok {
			in = !c.AutoCommit()
		}
		return nil
	})
	return in
}

// sqliteAutoCheckpoint is the log size, in pages (40 MB), past which a
// committing connection checkpoints the log itself: ten times SQLite's
// default, reached only if the store's background checkpoints fall behind.
const sqliteAutoCheckpoint = 10000

// openSQLite opens (creating if needed) the SQLite database at path, with
// the pragmas every pooled connection needs set in the DSN: foreign keys,
// WAL, a busy timeout, and write transactions that take the lock at BEGIN
// so two writers never deadlock upgrading a read lock.
func openSQLite(path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("models: create database folder: %w", err)
		}
	}
	q := url.Values{}
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	q.Set("_synchronous", "NORMAL")
	q.Set("_cache_size", "-16000")
	// Reuse prepared statements: preparing is a quarter of a small write.
	q.Set("_stmt_cache_size", "64")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open(sqliteDriver, dsn)
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	// SQLite allows one writer at a time (which keeps a connection of its
	// own, see core.commit); readers run in parallel under WAL, but more of
	// them than cores only fight the writer for CPU: the load run was
	// fastest with three readers on two cores.
	conns := runtime.NumCPU() + 2
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	return db, nil
}

// sqliteUniqueViolation reports whether err is SQLite's unique (or primary
// key) constraint failing, with the columns it names ("users.email_key";
// "invitations.email_key, invitations.inviter_id").
func sqliteUniqueViolation(err error) (string, bool) {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return "", false
	}
	if se.ExtendedCode != sqlite3.ErrConstraintUnique && se.ExtendedCode != sqlite3.ErrConstraintPrimaryKey {
		return "", false
	}
	msg := se.Error()
	if i := strings.Index(msg, "constraint failed: "); i >= 0 {
		msg = msg[i+len("constraint failed: "):]
	}
	return msg, true
}
