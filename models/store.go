package models

// The writer contract. Every change goes through core.write, which hands it
// to the single writer goroutine (see commit); these rules keep one write
// from harming the others it shares a transaction with:
//
//  1. A write's statements never run under a cancellable request context:
//     the writer passes fn context.WithoutCancel of the caller's. A caller's
//     cancellation is looked at before its job starts, never during it, since
//     an interrupted statement makes SQLite roll back the whole shared
//     transaction.
//  2. A job's own error or panic undoes only its own work. A group first
//     runs without savepoints (they cost a tenth of a write, see runRound);
//     when one of its jobs fails, the transaction is rolled back and the
//     whole group runs again with each job in a savepoint of its own, where
//     a failure rolls back only that savepoint. When SQLite aborts the whole
//     transaction (an interrupt, an I/O error, a full disk), the job during
//     which it died gets the error and the other jobs of its group run again
//     in a fresh transaction instead of failing.
//  3. Nothing slow runs inside a write: passwords are hashed before it (and
//     argon2 work is bounded by the store's semaphore, see core.argon),
//     emails are only filled in from templates in memory, and mail goes out
//     after the commit, from the delivery worker. A write's function does
//     database work alone and may run more than once (rule 2).
//  4. Store.Close waits for the queued writes, then closes the writer's
//     connection; a write after it fails with ErrClosed.
//  5. The writer does not checkpoint the write-ahead log (SQLite's own
//     checkpoint after a commit copies the log into the database file and
//     syncs it, inside the commit): a goroutine of its own does it shortly
//     after writes, on a pooled connection, while the writer goes on (see
//     scheduleCheckpoint). SQLite's own checkpoint stays as a backstop for a
//     log that grows past sqliteAutoCheckpoint pages.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Composer writes the emails the models queue in the outbox. The models call
// it inside the transaction that causes the email, so the email is queued
// exactly when the change commits. Links carry a placeholder that the outbox
// worker replaces with a freshly minted token at delivery time.
type Composer interface {
	Confirmation(u User) Email
	PasswordReset(u User) Email
	Invitation(inv Invitation, inviter User) Email
	InvitationReminder(inv Invitation, inviter User) Email
	InviteeJoined(inviter, invitee User) Email
	InvitationBounced(inv Invitation, inviter User) Email
	RequestConfirmation(email string) Email
	RequestDeclined(email, reason string) Email
}

// Options configures a Store.
type Options struct {
	// Now returns the current time; tests set it to move the clock.
	Now func() time.Time
	// Composer writes the queued emails.
	Composer Composer
	// DefaultAllocation is what a new user starts with; -1 means unlimited.
	DefaultAllocation int
	// InviteExpiry is how long an invitation link stays valid.
	InviteExpiry time.Duration
	// InviteRate is how many invitations one member may send an hour (0: no limit).
	InviteRate int
	// RecipientRate is how many invitation emails one address may receive a day (0: no limit).
	RecipientRate int
	// Argon sets the password hashing cost; zero means DefaultArgon.
	Argon ArgonParams
	// InviteMinAge is how long someone must have been a member before
	// inviting (0: no wait); staff are exempt.
	InviteMinAge time.Duration
	// EarnAfter is how long an invitee must have been a member in good
	// standing for their inviter to earn EarnAmount invitations (0: off).
	EarnAfter  time.Duration
	EarnAmount int
	// InviteReminder is how long before a pending invitation expires its
	// one reminder goes out (0: no reminders).
	InviteReminder time.Duration
	// LinkSecret keys the tokens of shareable links (BECKON_SECRET or the
	// key file); kept outside the database. Empty, no link can be made or
	// opened.
	LinkSecret []byte
}

// Store gathers the table groups over one database.
type Store struct {
	DB          *sql.DB
	Users       *Users
	Invitations *Invitations
	Outbox      *Outbox
	Events      *Events
	Staff       *Staff
	APITokens   *APITokens
	Requests    *Requests
	Bulk        *Bulk
	Webhooks    *Webhooks
	Links       *Links
	RateLimits  *RateLimits
	core        *core
	Settings    *Settings
}

// ErrClosed is the error of a write after Store.Close.
var ErrClosed = errors.New("models: store closed")

// core is what every table group shares.
type core struct {
	db   *sql.DB
	opts Options
	bus  *Events
	// mailQueued is signalled (without blocking) after a commit that queued
	// an email, so the delivery worker wakes at once instead of polling.
	mailQueued chan struct{}
	// Writes are committed in groups (see commit): queue holds the writes
	// waiting for the writer goroutine, which runs while there are any.
	queueMu sync.Mutex
	queue   []*writeJob
	// While the writer lingers for a group to fill (see writer), lingerFor
	// is how many queued jobs end the wait, and filled is signalled when
	// the queue reaches it. lingerDelay bounds the wait.
	lingerFor   int
	filled      chan struct{}
	lingerDelay time.Duration
	writing     bool       // whether the writer goroutine is running
	idle        *sync.Cond // signalled (with queueMu) when the writer ends
	closed      bool       // set by Close: no more jobs are taken
	// writeConn is the connection write transactions run on, kept for good
	// (used by the writer goroutine alone) so that the writer never waits
	// for the pool that the readers share.
	writeConn *sql.Conn
	// argonSlots bounds the argon2 work (hashing and checking passwords)
	// running at once, each 19 MiB and tens of milliseconds of CPU, to the
	// CPUs there are: more at once only queues them in the scheduler and
	// multiplies the memory.
	argonSlots chan struct{}
	// argonHook, when set (by tests), runs in every argon slot before the
	// work.
	argonHook func()
	// The background checkpoint of the write-ahead log (rule 5, SQLite
	// only): checkpointing is set while one is scheduled, closing is closed
	// by Close, checkpoints counts those done (for tests).
	checkpointing   atomic.Bool
	checkpointDelay time.Duration
	closing         chan struct{}
	closeOnce       sync.Once
	checkpointWG    sync.WaitGroup
	checkpoints     atomic.Int64
	// engine says which write path commit takes (engine_postgres.go);
	// pgWrites counts PostgreSQL writes under way (with queueMu), for Close.
	engine   Engine
	pgWrites int
	// pgSlots bounds the PostgreSQL write transactions under way (pgWriters).
	pgSlots chan struct{}
}

// New builds a Store over db, which must already be migrated.
func New(db *sql.DB, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.InviteExpiry <= 0 {
		opts.InviteExpiry = 168 * time.Hour
	}
	if opts.EarnAmount <= 0 {
		opts.EarnAmount = 1
	}
	if opts.Argon == (ArgonParams{}) {
		opts.Argon = DefaultArgon
	}
	ev := &Events{}
	c := &core{db: db, opts: opts, bus: ev, mailQueued: make(chan struct{}, 1),
		argonSlots: make(chan struct{}, runtime.GOMAXPROCS(0)), engine: EngineOf(db),
		pgSlots: make(chan struct{}, pgWriters), checkpointDelay: checkpointDelay, closing: make(chan struct{}),
		filled: make(chan struct{}, 1), lingerDelay: lingerDelay}
	c.idle = sync.NewCond(&c.queueMu)
	ev.core = c
	invs := &Invitations{c}
	return &Store{
		DB:          db,
		Users:       &Users{c},
		Invitations: invs,
		Requests:    &Requests{core: c, inv: invs},
		Bulk:        &Bulk{core: c, inv: invs, queued: make(chan struct{}, 1)},
		Outbox:      &Outbox{c},
		Events:      ev,
		Staff:       &Staff{core: c},
		APITokens:   &APITokens{c},
		Webhooks:    newWebhooks(c, ev),
		Links:       &Links{c},
		core:        c,
		Settings:    &Settings{c},
		RateLimits:  &RateLimits{c},
	}
}

// Now is the store's clock (Options.Now), to the second: what pages show
// relative times against, so tests that move the clock move them too.
func (s *Store) Now() time.Time { return s.core.now() }

// Close waits for the queued writes to finish and closes the writer's
// connection; every write after it fails with ErrClosed. The database
// itself is left to whoever opened it.
func (s *Store) Close() error {
	c := s.core
	c.queueMu.Lock()
	c.closed = true
	for c.writing || c.pgWrites > 0 {
		c.idle.Wait()
	}
	c.queueMu.Unlock()
	c.closeOnce.Do(func() { close(c.closing) })
	c.checkpointWG.Wait()
	if c.writeConn == nil {
		return nil
	}
	err := c.writeConn.Close()
	c.writeConn = nil
	if err != nil {
		return fmt.Errorf("models: close writer connection: %w", err)
	}
	return nil
}

func (c *core) now() time.Time { return c.opts.Now().UTC().Truncate(time.Second) }

// writeJob is one caller's write, waiting to be run in a group.
type writeJob struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *sql.Tx, ch *change) error
	ch  *change
	err error
	// started is set once the job first runs; a job run again after
	// its transaction died is not checked for cancellation again.
	started bool
	done    chan struct{} // closed once the job's group committed or failed
}

// maxGroup bounds how many writes share one transaction, and so how long
// the last of them waits.
const maxGroup = 128

// commit runs fn as its own atomic unit and returns once it is durable.
//
// SQLite has one writer at a time, and a commit costs more than a small
// write, so under load writes are grouped: each caller queues its job, and
// one writer goroutine takes every queued job into one transaction (where a
// job that fails rolls back alone, see runGroup), then commits once for all
// and wakes their callers. Alone, a job runs in a
// transaction of its own.
//
// The writer goroutine runs while jobs are queued and ends when none are.
// Being one goroutine that keeps going, it starts the next group the moment
// the last one committed: when the caller that committed was the next
// writer (an earlier design), the write lock waited, group after group, for
// that caller to be scheduled among the busy request goroutines, and the
// single writer, the site's bottleneck under load, stood idle meanwhile.
func (c *core) commit(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, ch *change) error) (*change, error) {
	return c.commitAttempts(ctx, fn, pgMaxAttempts)
}

// commitAttempts is commit with at most attempts runs of fn on PostgreSQL.
func (c *core) commitAttempts(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, ch *change) error, attempts int) (*change, error) {
	if c.engine == Postgres {
		return c.commitPostgres(ctx, fn, attempts)
	}
	job := &writeJob{ctx: ctx, fn: fn, done: make(chan struct{})}
	c.queueMu.Lock()
	if c.closed {
		c.queueMu.Unlock()
		return nil, ErrClosed
	}
	c.queue = append(c.queue, job)
	if c.lingerFor > 0 && len(c.queue) >= c.lingerFor {
		c.lingerFor = 0
		select {
		case c.filled <- struct{}{}:
		default:
		}
	}
	start := !c.writing
	c.writing = true
	c.queueMu.Unlock()
	if start {
		go c.writer()
	}
	<-job.done
	return job.ch, job.err
}

// lingerDelay is the longest the writer waits for a group to fill, and
// lingerMin the size of the last group from which it does. Under a burst of
// writes the groups were of five or six jobs while the queue refilled, and
// each commit costs about as much as three jobs (the log pages of all the
// tables and indexes the group changed); waiting up to this long for as
// many jobs as the last group had gave 3 to 10 % more invitations a second
// under the W1 load (docs/performance.md). A write on its own, or one of a
// few, never waits, nor does one that finds the queue empty.
const (
	lingerDelay = 500 * time.Microsecond
	lingerMin   = 4
)

// writer runs the queued jobs, a group at a time, until the queue is empty.
// After a group of lingerMin jobs or more, while some but fewer are queued
// than it had, it first waits for that many (at most lingerDelay).
func (c *core) writer() {
	last := 0
	for {
		if last >= lingerMin {
			c.linger(last)
		}
		c.queueMu.Lock()
		n := min(len(c.queue), maxGroup)
		last = n
		if n == 0 {
			c.queue = nil // let the backing array go
			c.writing = false
			c.idle.Broadcast()
			c.queueMu.Unlock()
			return
		}
		group := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.queueMu.Unlock()
		c.runGroup(group)
		for _, j := range group {
			close(j.done)
		}
	}
}

// linger waits until want jobs are queued or lingerDelay has passed, if
// some are queued already: an empty queue means the burst is over (the
// writer then ends), and the next write, alone, does not wait.
func (c *core) linger(want int) {
	c.queueMu.Lock()
	if n := len(c.queue); n == 0 || n >= want || c.closed {
		c.queueMu.Unlock()
		return
	}
	c.lingerFor = want
	c.queueMu.Unlock()
	t := time.NewTimer(c.lingerDelay)
	select {
	case <-c.filled:
	case <-t.C:
	}
	t.Stop()
	c.queueMu.Lock()
	c.lingerFor = 0
	c.queueMu.Unlock()
	// A signal sent just as the timer fired is not left for the next wait.
	select {
	case <-c.filled:
	default:
	}
}

// runGroup runs jobs, in one transaction unless SQLite aborts it (see
// runRound), and records each one's outcome.
//
// The first round runs the jobs one after the other with no savepoints:
// nearly every job succeeds, and a savepoint around each was a tenth of the
// writer's time under a burst of invitations (the statements, and SQLite
// copying every page a job first changes into the savepoint's journal).
// The first job to fail sends the whole group round again, each job in a
// savepoint of its own so that a failure rolls back alone (rule 2: a job may
// run more than once).
func (c *core) runGroup(jobs []*writeJob) {
	jobs = c.runRound(jobs, false)
	// Each round that does not commit leaves out at least the job during
	// which the transaction died, so this ends.
	for len(jobs) > 0 {
		jobs = c.runRound(jobs, true)
	}
}

// runRound runs jobs in one transaction and records each one's outcome.
// Without savepoints, a job that fails rolls the transaction back and every
// job is returned to be run again (with savepoints). With them, if the
// transaction itself dies in a group (savepoint statements fail once SQLite
// rolled it all back), the job during which it died gets the error, and the
// jobs that had not failed on their own, whose work went with the
// transaction, are returned to be run again.
func (c *core) runRound(jobs []*writeJob, savepoints bool) (again []*writeJob) {
	live := make([]*writeJob, 0, len(jobs))
	for _, j := range jobs {
		// A caller that gave up before its job started is not run; once
		// started, a job finishes whatever its caller does (rule 1), run
		// again included.
		if err := j.ctx.Err(); err != nil && !j.started {
			j.ch, j.err = nil, err
			continue
		}
		j.started = true
		live = append(live, j)
	}
	if len(live) == 0 {
		return nil
	}
	finish := func(err error) {
		for _, j := range live {
			if err != nil && j.err == nil {
				j.ch, j.err = nil, err
			}
		}
	}
	ctx := context.WithoutCancel(live[0].ctx)
	if c.writeConn == nil {
		conn, err := c.db.Conn(ctx)
		if err != nil {
			finish(fmt.Errorf("models: writer connection: %w", err))
			return nil
		}
		c.writeConn = conn
	}
	tx, err := c.writeConn.BeginTx(ctx, nil)
	if err != nil {
		// The connection may be broken: take a fresh one next time.
		c.writeConn.Close()
		c.writeConn = nil
		finish(fmt.Errorf("models: begin: %w", err))
		return nil
	}
	defer tx.Rollback()
	if len(live) == 1 {
		// Alone, a job needs no savepoint: whatever kills the transaction
		// is its own doing.
		j := live[0]
		j.ch, j.err = &change{}, nil
		if j.err = j.run(tx); j.err != nil {
			j.ch = nil
			return nil
		}
	} else if !savepoints {
		for _, j := range live {
			j.ch, j.err = &change{}, nil
			// A job that failed cannot be undone alone, and one that killed
			// the transaction (an error it did not pass on) would leave the
			// next jobs' statements committing one by one: either way the
			// deferred rollback undoes everyone's work and the group runs
			// again, where the savepoints sort out who failed.
			if j.err = j.run(tx); j.err != nil || !sqliteInTransaction(c.writeConn) {
				for _, k := range live {
					k.ch, k.err = nil, nil
				}
				return live
			}
		}
	} else {
		for i, j := range live {
			if err := c.runInSavepoint(tx, j); err != nil {
				if j.err == nil {
					j.err = err
				}
				j.ch = nil
				for _, k := range live[:i] {
					if k.err == nil {
						again = append(again, k)
					}
				}
				return append(again, live[i+1:]...)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		finish(fmt.Errorf("models: commit: %w", err))
		return nil
	}
	c.scheduleCheckpoint()
	return nil
}

// checkpointDelay is how long after a commit the log is checkpointed: long
// enough that under load one checkpoint follows many groups, short enough
// that the log stays small.
const checkpointDelay = 100 * time.Millisecond

// scheduleCheckpoint has the write-ahead log checkpointed checkpointDelay
// from now, unless that is already scheduled (rule 5). A PASSIVE checkpoint
// copies what no reader still needs and waits for nobody, so the writer
// commits on meanwhile. When SQLite checkpointed inside the writer's commit
// instead, the copy and its file syncs were a third of the writer's time
// under a burst of invitations (docs/performance.md). Close runs a
// scheduled checkpoint at once and waits for it.
func (c *core) scheduleCheckpoint() {
	if !c.checkpointing.CompareAndSwap(false, true) {
		return
	}
	c.checkpointWG.Add(1)
	go func() {
		defer c.checkpointWG.Done()
		t := time.NewTimer(c.checkpointDelay)
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
		}
		// Cleared first: a commit from now on schedules the next one.
		c.checkpointing.Store(false)
		if _, err := c.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err == nil {
			c.checkpoints.Add(1)
		}
		// A failure (the database closed, a busy checkpointer elsewhere)
		// leaves the log to the next checkpoint or to SQLite's backstop.
	}()
}

// run calls the job's function under a context that no caller can cancel
// (rule 1). A panic in it becomes the job's error (its work is rolled
// back), so that one bad write cannot take the writer goroutine, and with
// it the process, down.
func (j *writeJob) run(tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("models: write panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return j.fn(context.WithoutCancel(j.ctx), tx, j.ch)
}

// runInSavepoint runs one job of a group; its failure rolls back only its
// own work. The error returned is the transaction's, not the job's: a
// savepoint statement that fails means SQLite rolled back the whole
// transaction (RELEASE and ROLLBACK TO then find no savepoint).
func (c *core) runInSavepoint(tx *sql.Tx, j *writeJob) error {
	j.ch, j.err = nil, nil
	if _, err := tx.Exec(`SAVEPOINT job`); err != nil {
		return fmt.Errorf("models: savepoint: %w", err)
	}
	j.ch = &change{}
	if j.err = j.run(tx); j.err != nil {
		j.ch = nil
		if _, err := tx.Exec(`ROLLBACK TO job`); err != nil {
			return fmt.Errorf("models: roll back to savepoint: %w", err)
		}
	}
	if _, err := tx.Exec(`RELEASE job`); err != nil {
		return fmt.Errorf("models: release savepoint: %w", err)
	}
	return nil
}

// change is what one transaction produced that must be acted on after the
// commit: events for subscribers and whether an email was queued.
type change struct {
	events []Event
	mailed bool
}

// write runs fn in one write transaction and, once it committed, hands the
// recorded events to subscribers and wakes the mail worker.
func (c *core) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, ch *change) error) error {
	return c.writeAttempts(ctx, fn, pgMaxAttempts)
}

// writeOnce is write, except that on PostgreSQL a transaction that loses a
// race is not run again: its error (retryable reports it) goes back to the
// caller, which may try something smaller. SQLite's single writer has no
// race to lose, and writeOnce is write there.
func (c *core) writeOnce(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, ch *change) error) error {
	return c.writeAttempts(ctx, fn, 1)
}

func (c *core) writeAttempts(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, ch *change) error, attempts int) error {
	ch, err := c.commitAttempts(ctx, fn, attempts)
	if err != nil {
		return err
	}
	if ch.mailed {
		select {
		case c.mailQueued <- struct{}{}:
		default:
		}
	}
	c.bus.publish(ch.events)
	return nil
}

func unix(t time.Time) int64 { return t.Unix() }

// fromUnix turns a nullable Unix time column into a time, zero when NULL.
func fromUnix(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(n.Int64, 0).UTC()
}
