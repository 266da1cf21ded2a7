package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL side of the engine layer. The model code writes one SQL
// for both engines, with SQLite's `?` and `?NNN` placeholders; the driver
// registered here rewrites them to PostgreSQL's `$N` before pgx sees a
// query, so nothing above database/sql knows which engine it talks to
// except where a query needs one of the Engine helpers (engine.go).

// PostgresDriverName is the database/sql driver that wraps pgx's and
// rewrites placeholders.
const PostgresDriverName = "beckon-postgres"

func init() { sql.Register(PostgresDriverName, pgDriver{}) }

// pgDriver wraps pgx's database/sql driver.
type pgDriver struct{}

func (pgDriver) Open(name string) (driver.Conn, error) {
	c, err := stdlib.GetDefaultDriver().Open(name)
	if err != nil {
		return nil, err
	}
	return &pgConn{c.(*stdlib.Conn)}, nil
}

// pgConnector opens wrapped connections from a parsed pgx configuration.
type pgConnector struct{ inner driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn)}, nil
}

func (pgConnector) Driver() driver.Driver { return pgDriver{} }

// pgConn is a pgx connection whose queries have their placeholders
// rewritten. It forwards every optional interface pgx's connection has and
// database/sql uses.
type pgConn struct{ c *stdlib.Conn }

var (
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.Pinger             = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
)

func (p *pgConn) Prepare(query string) (driver.Stmt, error) {
	return p.c.Prepare(RewritePlaceholders(query))
}
func (p *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return p.c.PrepareContext(ctx, RewritePlaceholders(query))
}
func (p *pgConn) Close() error              { return p.c.Close() }
func (p *pgConn) Begin() (driver.Tx, error) { return p.c.Begin() }
func (p *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return p.c.BeginTx(ctx, opts)
}
func (p *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return p.c.ExecContext(ctx, RewritePlaceholders(query), args)
}
func (p *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return p.c.QueryContext(ctx, RewritePlaceholders(query), args)
}
func (p *pgConn) Ping(ctx context.Context) error             { return p.c.Ping(ctx) }
func (p *pgConn) CheckNamedValue(v *driver.NamedValue) error { return p.c.CheckNamedValue(v) }
func (p *pgConn) ResetSession(ctx context.Context) error     { return p.c.ResetSession(ctx) }

// IsValid lets database/sql drop a connection pgx has closed.
func (p *pgConn) IsValid() bool { return !p.c.Conn().IsClosed() }

// IsPostgresURL reports whether dsn names a PostgreSQL database rather than
// a SQLite file.
func IsPostgresURL(dsn string) bool {
	d := strings.ToLower(dsn)
	return strings.HasPrefix(d, "postgres://") || strings.HasPrefix(d, "postgresql://")
}

// openPostgres opens a pool on the PostgreSQL database at url and checks
// that it answers.
func openPostgres(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message repeats the URL, password included.
		return nil, errors.New("models: open PostgreSQL: the URL does not parse (postgres://user:password@host:5432/dbname?sslmode=...)")
	}
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	// Unlike SQLite, PostgreSQL runs writers in parallel, each on its own
	// connection and server process; a few dozen connections keep a
	// server's default max_connections (100) free for several processes.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("models: open PostgreSQL %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, redact(err, cfg.Password))
	}
	return db, nil
}

// redact keeps a password out of an error's text.
func redact(err error, password string) error {
	if password == "" {
		return err
	}
	if msg := err.Error(); strings.Contains(msg, password) {
		return errors.New(strings.ReplaceAll(msg, password, "xxxxx"))
	}
	return err
}

// RewritePlaceholders turns SQLite's placeholders into PostgreSQL's: `?NNN`
// becomes `$NNN` and a bare `?` the next number (one more than the largest
// used so far, as SQLite numbers them). A `?` inside a string literal, a
// quoted identifier, a dollar-quoted body or a comment stays, and so does a
// `$N` written by code that already speaks PostgreSQL (scs's postgresstore,
// say). PostgreSQL's jsonb operators `?`, `?|` and `?&` cannot be written
// through it: use jsonb_exists and friends.
func RewritePlaceholders(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	out := make([]byte, 0, len(q)+8)
	maxN := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'':
			// E'...' strings take backslash escapes; standard ones only ''.
			escapes := i > 0 && (q[i-1] == 'E' || q[i-1] == 'e') && (i < 2 || !isIdentByte(q[i-2]))
			j := i + 1
			for j < len(q) {
				if escapes && q[j] == '\\' {
					j += 2
					continue
				}
				if q[j] == '\'' {
					break
				}
				j++
			}
			j = min(j+1, len(q))
			out = append(out, q[i:j]...)
			i = j
		case c == '"':
			j := i + 1
			for j < len(q) && q[j] != '"' {
				j++
			}
			j = min(j+1, len(q))
			out = append(out, q[i:j]...)
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := i + 2
			for j < len(q) && q[j] != '\n' {
				j++
			}
			out = append(out, q[i:j]...)
			i = j
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			// PostgreSQL's block comments nest.
			depth, j := 1, i+2
			for j < len(q) && depth > 0 {
				switch {
				case q[j] == '*' && j+1 < len(q) && q[j+1] == '/':
					depth--
					j += 2
				case q[j] == '/' && j+1 < len(q) && q[j+1] == '*':
					depth++
					j += 2
				default:
					j++
				}
			}
			out = append(out, q[i:j]...)
			i = j
		case c == '$' && (i == 0 || !isIdentByte(q[i-1])):
			// A dollar-quoted body ($$...$$ or $tag$...$tag$); $N is a
			// parameter and is copied as it is.
			j := i + 1
			for j < len(q) && isIdentByte(q[j]) && q[j] < 0x80 {
				j++
			}
			if j < len(q) && q[j] == '$' && !(j > i+1 && isDigit(q[i+1])) {
				tag := q[i : j+1]
				end := strings.Index(q[j+1:], tag)
				if end < 0 {
					end = len(q)
				} else {
					end += j + 1 + len(tag)
				}
				out = append(out, q[i:end]...)
				i = end
			} else {
				out = append(out, q[i:j]...)
				i = j
			}
		case c == '?':
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			n := maxN + 1
			if j > i+1 {
				if v, err := strconv.Atoi(q[i+1 : j]); err == nil {
					n = v
				}
			}
			maxN = max(maxN, n)
			out = append(out, '$')
			out = strconv.AppendInt(out, int64(n), 10)
			i = j
		default:
			out = append(out, c)
			i++
		}
	}
	return string(out)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isIdentByte(c byte) bool {
	return c == '_' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

// pgCode returns the SQLSTATE of a PostgreSQL error, "" for any other.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports whether a PostgreSQL transaction failed only because it
// lost a race with another (serialization failure or deadlock) and should
// run again from the start.
func retryable(err error) bool {
	switch pgCode(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// A write that keeps losing races is run again for up to pgRetryBudget (or
// pgMaxAttempts runs), after a pause drawn at random below a cap that grows
// to pgMaxPause: a few dozen requests on one hot row (one inviter's
// allocation, one link) then all get through, one per round, instead of
// the last ones failing with the serialization error.
const (
	pgMaxAttempts = 200
	pgRetryBudget = 15 * time.Second
	pgMaxPause    = 50 * time.Millisecond
)

// pgWriters bounds the write transactions one process runs at once: more
// only conflict with each other on the hot rows and hold connections the
// readers need; writes from other processes still race, and retry.
const pgWriters = 8

// commitPostgres runs fn as its own SERIALIZABLE transaction, the
// PostgreSQL counterpart of commit: PostgreSQL runs writers in parallel, so
// there is no writer goroutine and no group, and serializable isolation
// gives the model code the guarantee SQLite's single writer gave it (a
// read-then-write, such as a rate limit's count before the insert, cannot
// interleave with another process's). A transaction that lost a race
// (40001, 40P01) is run again, fn included, with a fresh change, after a
// short, growing pause. Like commit, it refuses writes once the Store is
// closed, and Close waits for those under way. attempts bounds the runs
// (pgMaxAttempts for write, 1 for writeOnce).
func (c *core) commitPostgres(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, ch *change) error, attempts int) (*change, error) {
	c.queueMu.Lock()
	if c.closed {
		c.queueMu.Unlock()
		return nil, ErrClosed
	}
	c.pgWrites++
	c.queueMu.Unlock()
	defer func() {
		c.queueMu.Lock()
		if c.pgWrites--; c.pgWrites == 0 {
			c.idle.Broadcast()
		}
		c.queueMu.Unlock()
	}()
	var err error
	start := time.Now()
	for attempt := range attempts {
		if attempt > 0 {
			if time.Since(start) > pgRetryBudget {
				break
			}
			ceiling := min(time.Duration(1<<min(attempt, 10))*time.Millisecond, pgMaxPause)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond):
			}
		}
		select {
		case c.pgSlots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var ch *change
		ch, err = c.pgAttempt(ctx, fn)
		<-c.pgSlots
		if err == nil {
			return ch, nil
		}
		if !retryable(err) {
			return nil, err
		}
	}
	return nil, err
}

func (c *core) pgAttempt(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, ch *change) error) (_ *change, err error) {
	tx, err := c.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return nil, fmt.Errorf("models: begin: %w", err)
	}
	defer tx.Rollback()
	ch := &change{}
	j := &writeJob{ctx: ctx, fn: fn, ch: ch}
	if err := j.run(tx); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("models: commit: %w", err)
	}
	return ch, nil
}

// Advisory locks of the sweeps, so that of several processes one runs each
// sweep at a time and the others skip it.
const (
	sweepExpiry int64 = pgAdvisoryKey + 1 + iota
	sweepEarned
)

// trySweep reports whether this transaction may run the sweep named by
// key: on PostgreSQL it takes the sweep's transaction-scoped advisory lock
// if no other transaction holds it (false: another process is sweeping,
// and this one has nothing to add); on SQLite, whose single writer runs
// one transaction at a time, always. Without the lock two sweeps would
// still end each invitation once (a serializable conflict makes the
// second run again and find nothing), but only after doing the work twice.
func (c *core) trySweep(ctx context.Context, tx *sql.Tx, key int64) (bool, error) {
	if c.engine != Postgres {
		return true, nil
	}
	var ok bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(?)`, key).Scan(&ok); err != nil {
		return false, fmt.Errorf("models: sweep lock: %w", err)
	}
	return ok, nil
}

// pgAdvisoryKey is the advisory lock Migrate holds on PostgreSQL, so that
// processes starting together migrate one at a time ("beckon" in ASCII).
const pgAdvisoryKey = 0x6265636b6f6e

// pgUniqueViolation reports whether err is PostgreSQL's unique_violation
// (23505), with the name of the constraint or unique index.
func pgUniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}
