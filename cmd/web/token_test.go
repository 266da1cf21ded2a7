package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

func TestTokenCreateRefusesAnUnverifiedAccount(t *testing.T) {
	path := testdb.DSN(t, "beckon.db")
	ctx := context.Background()
	db, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := models.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	store := models.New(db, models.Options{
		Argon: models.CheapArgon, Composer: mail.Composer{SiteName: "Beckon", BaseURL: "http://beckon.test"},
	})
	_, err = store.Users.Create(ctx, models.NewUser{Email: "una@example.com", Username: "una", Password: "a long password"})
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = run(ctx, []string{"token", "create", "una@example.com"}, env("BECKON_DB", path), nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "has not confirmed its email address") {
		t.Errorf("token create for an unverified account: %v; want a refusal", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q", out.String())
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM api_tokens`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tokens stored (%v); want none", n, err)
	}
}
