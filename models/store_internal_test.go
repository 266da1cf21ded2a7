package models

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
