package models_test

import (
	"context"
	"errors"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// liveTokens counts the user's unrevoked API tokens.
func liveTokens(t *testing.T, e *env, u models.User) int {
	t.Helper()
	list, err := e.store.APITokens.List(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func epoch(t *testing.T, e *env, u models.User) int64 {
	t.Helper()
	got, err := e.store.Users.Get(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.SessionEpoch
}

func TestCredentialChangesMoveTheSessionEpoch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	if _, _, err := e.store.APITokens.Create(ctx, ann.ID, "one"); err != nil {
		t.Fatal(err)
	}
	e0 := epoch(t, e, ann)
	if err := e.store.Users.SetName(ctx, ann.ID, "Ann"); err != nil {
		t.Fatal(err)
	}
	if got := epoch(t, e, ann); got != e0 {
		t.Errorf("a name change moved the epoch from %d to %d", e0, got)
	}

	// A password change: sessions end, tokens stay, reset links die.
	if err := e.store.Users.RequestPasswordReset(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	reset := tokenOf(e.mint()[0])
	u, err := e.store.Users.SetPassword(ctx, ann.ID, "another password")
	if err != nil {
		t.Fatal(err)
	}
	if u.SessionEpoch == e0 || epoch(t, e, ann) != u.SessionEpoch {
		t.Errorf("password change: epoch %d, returned %d, stored %d", e0, u.SessionEpoch, epoch(t, e, ann))
	}
	if n := liveTokens(t, e, ann); n != 1 {
		t.Errorf("a password change left %d API tokens; want 1", n)
	}
	if _, err := e.store.Users.ResetPassword(ctx, reset, "third password"); !errors.Is(err, models.ErrTokenUsed) {
		t.Errorf("reset link from before the change: %v; want ErrTokenUsed", err)
	}

	// A reset: sessions and tokens end.
	if err := e.store.Users.RequestPasswordReset(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	e1 := epoch(t, e, ann)
	u, err = e.store.Users.ResetPassword(ctx, tokenOf(e.mint()[0]), "fourth password")
	if err != nil {
		t.Fatal(err)
	}
	if u.SessionEpoch == e1 || epoch(t, e, ann) != u.SessionEpoch {
		t.Errorf("reset: epoch %d, returned %d, stored %d", e1, u.SessionEpoch, epoch(t, e, ann))
	}
	if n := liveTokens(t, e, ann); n != 0 {
		t.Errorf("a reset left %d API tokens", n)
	}
}

func TestFirstProofOfAnAddressEndsWhatCameBefore(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	una := e.user("una@example.com", "una", false)
	if _, _, err := e.store.APITokens.Create(ctx, una.ID, "x"); !errors.Is(err, models.ErrTokensNeedVerified) {
		t.Errorf("token for an unverified account: %v; want ErrTokensNeedVerified", err)
	}
	// A token from before the rule, straight into the table.
	_, hash := models.NewToken()
	if _, err := e.db.Exec(`INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, 'old', ?, 0)`, una.ID, hash); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Users.ResendConfirmation(ctx, una.ID); err != nil {
		t.Fatal(err)
	}
	links := e.mint()
	if len(links) != 2 {
		t.Fatalf("%d confirmation emails; want 2", len(links))
	}
	e0 := epoch(t, e, una)
	u, err := e.store.Users.ConfirmEmail(ctx, tokenOf(links[1]))
	if err != nil {
		t.Fatal(err)
	}
	if !u.Verified() || u.SessionEpoch == e0 {
		t.Errorf("confirmed user %+v; want verified with an epoch past %d", u, e0)
	}
	if n := liveTokens(t, e, una); n != 0 {
		t.Errorf("the first confirmation left %d API tokens", n)
	}
	if _, err := e.store.Users.ConfirmEmail(ctx, tokenOf(links[0])); !errors.Is(err, models.ErrTokenUsed) {
		t.Errorf("the other confirmation link: %v; want ErrTokenUsed", err)
	}
	if _, _, err := e.store.APITokens.Create(ctx, una.ID, "now"); err != nil {
		t.Errorf("token once verified: %v", err)
	}
}

func TestMigration0010RevokesTokensOfUnverifiedAccounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	una := e.user("una@example.com", "una", false)
	ann := e.user("ann@example.com", "ann", true)
	for _, u := range []models.User{una, ann} {
		_, hash := models.NewToken()
		if _, err := e.db.Exec(`INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, 'old', ?, 0)`, u.ID, hash); err != nil {
			t.Fatal(err)
		}
	}
	// Run 0010 again, as on a database made before it.
	if _, err := e.db.Exec(`DELETE FROM schema_migrations WHERE name LIKE '0010%'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`ALTER TABLE users DROP COLUMN session_epoch`); err != nil {
		t.Fatal(err)
	}
	if _, err := models.Migrate(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	if n := liveTokens(t, e, una); n != 0 {
		t.Errorf("an unverified account kept %d tokens", n)
	}
	if n := liveTokens(t, e, ann); n != 1 {
		t.Errorf("a verified account has %d tokens; want 1", n)
	}
}
