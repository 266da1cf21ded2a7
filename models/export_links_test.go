package models

import (
	"context"
	"database/sql"
)

// CloseLinksOf runs closeLinksOf in a write of its own, as suspending a
// member does inside theirs.
func CloseLinksOf(s *Store, userID int64) (int, error) {
	var n int
	err := s.core.write(context.Background(), func(ctx context.Context, tx *sql.Tx, ch *change) error {
		var err error
		n, err = closeLinksOf(ctx, tx, ch, s.core.now(), userID, 0)
		return err
	})
	return n, err
}
