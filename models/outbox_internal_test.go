package models

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A batch that loses a race is minted in halves, each tried once, down to
// single emails, which get the full retries; what the parts minted comes
// back, with the first error that was not a lost race.
func TestMintSplittingSplitsOnlyWhatLostARace(t *testing.T) {
	lost := fmt.Errorf("models: mint token: %w", &pgconn.PgError{Code: "40001"})
	broken := errors.New("disk full")
	batch := func(ids ...int64) []QueuedEmail {
		var b []QueuedEmail
		for _, id := range ids {
			b = append(b, QueuedEmail{ID: id})
		}
		return b
	}
	type call struct {
		ids  []int64
		once bool
	}
	run := func(fail func(ids []int64, once bool) error) ([]int64, []call, error) {
		var calls []call
		minted, err := mintSplitting(context.Background(), batch(1, 2, 3, 4, 5), func(_ context.Context, part []QueuedEmail, once bool) ([]MintedEmail, error) {
			var ids []int64
			for _, q := range part {
				ids = append(ids, q.ID)
			}
			calls = append(calls, call{ids, once})
			if err := fail(ids, once); err != nil {
				return nil, err
			}
			var out []MintedEmail
			for _, q := range part {
				out = append(out, MintedEmail{QueuedEmail: q, Token: "t"})
			}
			return out, nil
		})
		var got []int64
		for _, m := range minted {
			got = append(got, m.ID)
		}
		return got, calls, err
	}

	// Email 5's invitation is busy: every part of more than one email with it loses.
	got, calls, err := run(func(ids []int64, once bool) error {
		if len(ids) > 1 && ids[len(ids)-1] == 5 {
			return lost
		}
		return nil
	})
	want := []call{{[]int64{1, 2, 3, 4, 5}, true}, {[]int64{1, 2}, true}, {[]int64{3, 4, 5}, true},
		{[]int64{3}, false}, {[]int64{4, 5}, true}, {[]int64{4}, false}, {[]int64{5}, false}}
	if err != nil || !reflect.DeepEqual(got, []int64{1, 2, 3, 4, 5}) || !reflect.DeepEqual(calls, want) {
		t.Fatalf("minted %v, %v after %v; want all five after %v", got, err, calls, want)
	}

	// No race: one run of the whole batch.
	got, calls, err = run(func([]int64, bool) error { return nil })
	if err != nil || len(got) != 5 || len(calls) != 1 {
		t.Fatalf("without a race: minted %v, %v in %d runs; want all five in one", got, err, len(calls))
	}

	// An error that is not a race is not split, and ends it: the part that
	// committed before it comes back with it.
	got, _, err = run(func(ids []int64, once bool) error {
		switch {
		case len(ids) == 5:
			return lost
		case ids[0] == 3:
			return broken
		}
		return nil
	})
	if !errors.Is(err, broken) || !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Fatalf("with a broken second half: minted %v, %v; want 1 and 2 with the error", got, err)
	}
}
