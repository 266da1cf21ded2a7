package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newCore(t *testing.T) *core {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "core.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (n INTEGER NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	return New(db, Options{}).Users.core
}

// Concurrent writes are grouped, and each still commits or fails alone: a
// failing write (a duplicate, a returned error, a panic) leaves nothing
// behind and does not stop the others of its group.
func TestGroupedWritesSucceedOrFailAlone(t *testing.T) {
	c := newCore(t)
	ctx := context.Background()
	errMine := errors.New("refused")
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.commit(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
				if _, err := tx.Exec(`INSERT INTO t (n) VALUES (?)`, i); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errMine // after its insert: the insert must go
				case 5:
					_, err := tx.Exec(`INSERT INTO t (n) VALUES (?)`, i) // its own duplicate
					return err
				case 7:
					panic("a bug in a write")
				}
				return nil
			})
		})
	}
	wg.Wait()
	want := 0
	for i, err := range errs {
		switch i % 10 {
		case 3:
			if !errors.Is(err, errMine) {
				t.Errorf("write %d: err = %v; want its own error", i, err)
			}
		case 5:
			if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
				t.Errorf("write %d: err = %v; want the constraint's", i, err)
			}
		case 7:
			if err == nil || !strings.Contains(err.Error(), "a bug in a write") {
				t.Errorf("write %d: err = %v; want the panic as an error", i, err)
			}
		default:
			want++
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
	}
	var got int
	if err := c.db.QueryRow(`SELECT count(*) FROM t WHERE n % 10 NOT IN (3, 5, 7)`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	var stray int
	if err := c.db.QueryRow(`SELECT count(*) FROM t WHERE n % 10 IN (3, 5, 7)`).Scan(&stray); err != nil {
		t.Fatal(err)
	}
	if got != want || stray != 0 {
		t.Errorf("%d rows of successful writes (want %d), %d rows of failed ones (want 0)", got, want, stray)
	}
	// The writer is still there for the next write.
	if _, err := c.commit(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		_, err := tx.Exec(`INSERT INTO t (n) VALUES (-1)`)
		return err
	}); err != nil {
		t.Errorf("write after the group: %v", err)
	}
}

// insert is a write that inserts n into t.
func insert(n int) func(context.Context, *sql.Tx, *change) error {
	return func(ctx context.Context, tx *sql.Tx, ch *change) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, n)
		return err
	}
}

// SetArgonHook makes f run in every argon slot of s before the work; the
// models_test tests use it to watch and hold password hashing.
func SetArgonHook(s *Store, f func()) { s.core.argonHook = f }

// rows returns the values of t, in order.
func rows(t *testing.T, c *core) []int {
	t.Helper()
	r, err := c.db.Query(`SELECT n FROM t ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []int
	for r.Next() {
		var n int
		if err := r.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// When SQLite aborts the whole shared transaction during one job (as it
// does on an interrupt, an I/O error or a full disk; here the job rolls
// it back itself), that job gets the error, jobs that failed on their own
// keep their own errors, and the innocent ones, before and after it, run
// again in a fresh transaction and commit.
func TestGroupSurvivesAJobThatKillsTheTransaction(t *testing.T) {
	c := newCore(t)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	mid, cancelMid := context.WithCancel(context.Background())
	errMine := errors.New("refused")
	ctx := context.Background()
	jobs := []*writeJob{
		{ctx: ctx, fn: insert(1)},
		{ctx: ctx, fn: func(ctx context.Context, tx *sql.Tx, ch *change) error {
			insert(100)(ctx, tx, ch)
			panic("a bug in a write")
		}},
		{ctx: ctx, fn: insert(2)},
		{ctx: gone, fn: insert(101)}, // its caller gave up before it started
		{ctx: mid, fn: func(ctx context.Context, tx *sql.Tx, ch *change) error {
			cancelMid() // its caller gives up while it runs: it finishes
			return insert(3)(ctx, tx, ch)
		}},
		{ctx: ctx, fn: func(ctx context.Context, tx *sql.Tx, ch *change) error {
			insert(102)(ctx, tx, ch)
			_, err := tx.ExecContext(ctx, `ROLLBACK`) // the transaction dies here
			if err != nil {
				t.Errorf("rollback: %v", err)
			}
			return nil
		}},
		{ctx: ctx, fn: func(ctx context.Context, tx *sql.Tx, ch *change) error {
			insert(103)(ctx, tx, ch)
			return errMine
		}},
		{ctx: ctx, fn: insert(4)},
	}
	for _, j := range jobs {
		j.done = make(chan struct{})
	}
	c.runGroup(jobs)
	for i, want := range []string{"", "a bug in a write", "", "context canceled", "", "savepoint", "refused", ""} {
		err := jobs[i].err
		switch {
		case want == "" && err != nil:
			t.Errorf("job %d: %v; want it committed", i, err)
		case want == "" && jobs[i].ch == nil:
			t.Errorf("job %d committed without its change", i)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("job %d: err = %v; want one with %q", i, err, want)
		case want != "" && jobs[i].ch != nil:
			t.Errorf("job %d failed but kept its change", i)
		}
	}
	if !errors.Is(jobs[6].err, errMine) {
		t.Errorf("job 6: %v; want its own error", jobs[6].err)
	}
	if got := fmt.Sprint(rows(t, c)); got != "[1 2 3 4]" {
		t.Errorf("rows %s; want the innocent jobs' [1 2 3 4]", got)
	}
	// The writer's connection is fit for the next write.
	if _, err := c.commit(ctx, insert(5)); err != nil {
		t.Errorf("write after: %v", err)
	}
}

// A group first runs without savepoints. A job that kills the transaction
// without returning an error (SQLite rolled it back under it) must not
// leave the jobs after it committing statement by statement outside any
// transaction: the group runs again with savepoints, the killer gets the
// error, and only the innocent jobs' rows are there.
func TestGroupNoticesATransactionKilledWithoutAnError(t *testing.T) {
	c := newCore(t)
	ctx := context.Background()
	var runs atomic.Int32
	jobs := []*writeJob{
		{ctx: ctx, fn: func(ctx context.Context, tx *sql.Tx, ch *change) error {
			runs.Add(1)
			return insert(1)(ctx, tx, ch)
		}},
		{ctx: ctx, fn: func(ctx context.Context, tx *sql.Tx, ch *change) error {
			insert(100)(ctx, tx, ch)
			if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
				t.Errorf("rollback: %v", err)
			}
			return nil
		}},
		{ctx: ctx, fn: insert(2)},
		{ctx: ctx, fn: insert(3)},
	}
	for _, j := range jobs {
		j.done = make(chan struct{})
	}
	c.runGroup(jobs)
	for i, j := range jobs {
		if i == 1 {
			if j.err == nil || j.ch != nil {
				t.Errorf("the job that killed the transaction: err %v, change %v; want an error and no change", j.err, j.ch)
			}
			continue
		}
		if j.err != nil || j.ch == nil {
			t.Errorf("job %d: err %v, change %v; want it committed", i, j.err, j.ch)
		}
	}
	if got := fmt.Sprint(rows(t, c)); got != "[1 2 3]" {
		t.Errorf("rows %s; want the innocent jobs' [1 2 3]", got)
	}
	if n := runs.Load(); n < 2 {
		t.Errorf("the first job ran %d times; want it run again after the group's first round failed", n)
	}
}

// After a group of several jobs, while some but fewer are queued, the
// writer waits briefly for the queue to hold as many again before it starts
// the next group: here the wait is an hour, so the third group can only
// start because the queue filled. A write that finds the queue empty never
// waits (the lone write at the end would otherwise take the hour).
func TestWriterWaitsForTheNextGroupToFill(t *testing.T) {
	c := newCore(t)
	c.lingerDelay = time.Hour
	ctx := context.Background()
	var wg sync.WaitGroup
	write := func(fn func(context.Context, *sql.Tx, *change) error) {
		wg.Go(func() {
			if _, err := c.commit(ctx, fn); err != nil {
				t.Error(err)
			}
		})
	}
	// holding returns a job that signals it runs, then waits for release.
	holding := func(n int, running, release chan struct{}) func(context.Context, *sql.Tx, *change) error {
		return func(ctx context.Context, tx *sql.Tx, ch *change) error {
			close(running)
			<-release
			return insert(n)(ctx, tx, ch)
		}
	}
	queued := func() int {
		c.queueMu.Lock()
		defer c.queueMu.Unlock()
		return len(c.queue)
	}
	waitQueued := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); queued() < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d jobs queued; want %d", queued(), n)
			}
		}
	}
	// Job 0 holds the writer while jobs 1 to 7 queue; job 7, the last of
	// that group, holds it again while job 8 queues. So the group of seven
	// ends with one job queued, and the writer waits for seven.
	run0, rel0, run7, rel7 := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	write(holding(0, run0, rel0))
	<-run0
	for i := 1; i <= 6; i++ {
		write(insert(i))
	}
	waitQueued(6)
	write(holding(7, run7, rel7))
	waitQueued(7)
	close(rel0)
	<-run7
	write(insert(8))
	waitQueued(1)
	close(rel7)
	for i := 9; i <= 13; i++ {
		write(insert(i))
	}
	waitQueued(6)
	time.Sleep(20 * time.Millisecond)
	if n := queued(); n != 6 {
		t.Fatalf("%d jobs queued while the writer waits for seven; want all 6 still there", n)
	}
	write(insert(14))
	wg.Wait()
	if got := len(rows(t, c)); got != 15 {
		t.Errorf("%d rows; want 15", got)
	}
	// A lone write after that group of seven finds the queue empty.
	finishes(t, "a lone write (it waited for a group to fill)", func() error {
		_, err := c.commit(ctx, insert(15))
		return err
	})
}

// finishes runs fn and fails the test if it errs or takes more than 10 s
// (what says what took too long).
func finishes(t *testing.T, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Close lets the running and queued writes finish, then refuses new ones.
func TestCloseWaitsForQueuedWrites(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "close.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (n INTEGER NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	s := New(db, Options{})
	c := s.core
	ctx := context.Background()
	running, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := c.commit(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
			close(running)
			<-release
			_, err := tx.ExecContext(ctx, `INSERT INTO t (n) VALUES (1)`)
			return err
		})
		first <- err
	}()
	<-running
	second := make(chan error, 1)
	go func() {
		_, err := c.commit(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO t (n) VALUES (2)`)
			return err
		})
		second <- err
	}()
	waitFor(t, "the second write to be queued", func() bool {
		c.queueMu.Lock()
		defer c.queueMu.Unlock()
		return len(c.queue) == 1
	})
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitFor(t, "Close to start", func() bool {
		c.queueMu.Lock()
		defer c.queueMu.Unlock()
		return c.closed
	})
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a write was running", err)
	default:
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Both writes had committed when Close returned.
	if got := fmt.Sprint(rows(t, c)); got != "[1 2]" {
		t.Errorf("rows %s; want [1 2]", got)
	}
	for what, ch := range map[string]chan error{"running": first, "queued": second} {
		if err := <-ch; err != nil {
			t.Errorf("the %s write: %v", what, err)
		}
	}
	if c.writeConn != nil {
		t.Error("the writer's connection is still held")
	}
	if _, err := c.commit(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v; want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// No more argon2 work runs at once than the store has slots, however many
// callers hash and check.
func TestArgonWorkIsBounded(t *testing.T) {
	c := newCore(t)
	c.opts.Argon = CheapArgon
	var inFlight, most atomic.Int32
	c.argonHook = func() {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond) // long enough for the others to pile up
		inFlight.Add(-1)
	}
	slots := cap(c.argonSlots)
	var wg sync.WaitGroup
	for i := range 4 * slots {
		wg.Go(func() {
			if i%2 == 0 {
				if _, err := c.hashPassword(context.Background(), "password123"); err != nil {
					t.Error(err)
				}
			} else if _, err := c.checkPassword(context.Background(), "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$Y2hlY2s", "x"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := int(most.Load()); m < 1 || m > slots {
		t.Errorf("%d argon2 computations at once; want 1 to %d", m, slots)
	}
	// A caller that gives up while waiting for a slot is let go.
	for range slots {
		c.argonSlots <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.hashPassword(ctx, "password123"); !errors.Is(err, context.Canceled) {
		t.Errorf("hash with every slot taken and ctx done: %v; want context.Canceled", err)
	}
}

// The writer leaves the log's checkpoint to a goroutine of its own (rule
// 5): writes schedule one checkpoint, not one each, and Close runs a
// scheduled one at once and waits for it. Every connection keeps SQLite's
// own checkpoint only as a backstop.
func TestLogIsCheckpointedBesideTheWriter(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "ckpt.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (n INTEGER NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	s := New(db, Options{})
	c := s.core
	c.checkpointDelay = time.Hour // only Close may run it
	ctx := context.Background()
	for i := range 20 {
		if _, err := c.commit(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
			_, err := tx.Exec(`INSERT INTO t (n) VALUES (?)`, i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !c.checkpointing.Load() || c.checkpoints.Load() != 0 {
		t.Fatalf("after 20 writes: scheduled %v, done %d; want one scheduled, none done", c.checkpointing.Load(), c.checkpoints.Load())
	}
	var backstop int
	if err := c.writeConn.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&backstop); err != nil || backstop != sqliteAutoCheckpoint {
		t.Errorf("the writer's wal_autocheckpoint = %d, %v; want %d", backstop, err, sqliteAutoCheckpoint)
	}
	finishes(t, "Close (it waited for the checkpoint's delay)", s.Close)
	if n := c.checkpoints.Load(); n != 1 {
		t.Errorf("checkpoints after Close = %d; want 1", n)
	}
}

// Under the real delay, a write is followed by a checkpoint without Close.
func TestWriteIsFollowedByACheckpoint(t *testing.T) {
	c := newCore(t)
	c.checkpointDelay = time.Millisecond
	if _, err := c.commit(context.Background(), func(ctx context.Context, tx *sql.Tx, ch *change) error {
		_, err := tx.Exec(`INSERT INTO t (n) VALUES (1)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a checkpoint after the write", func() bool { return c.checkpoints.Load() == 1 && !c.checkpointing.Load() })
}
