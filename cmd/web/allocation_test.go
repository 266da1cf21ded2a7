package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

// seedDB makes a database with three members: ann (2 allocated, 1 held),
// bob (0 allocated) and cid (unlimited), on the run's engine, and returns
// what BECKON_DB takes.
func seedDB(t *testing.T) string {
	t.Helper()
	return seedAt(t, testdb.DSN(t, "beckon.db"))
}

// seedSQLite is seedDB on a SQLite file, for the commands that read one
// (backup, db copy).
func seedSQLite(t *testing.T) string {
	t.Helper()
	return seedAt(t, filepath.Join(t.TempDir(), "beckon.db"))
}

func seedAt(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := models.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	store := models.New(db, models.Options{Argon: models.CheapArgon, Composer: nopComposer{}})
	ids := map[string]int64{}
	for _, name := range []string{"ann", "bob", "cid"} {
		u, err := store.Users.Create(ctx, models.NewUser{Email: name + "@example.com", Username: name, Password: "password123", Verified: true})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = u.ID
	}
	store.Staff.AddToUser(ctx, 0, ids["ann"], 2)
	if _, _, err := store.Invitations.Create(ctx, ids["ann"], "friend@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	store.Staff.SetUnlimitedUser(ctx, 0, ids["cid"], true, 0)
	return path
}

type nopComposer struct{}

func (nopComposer) Confirmation(models.User) models.Email                  { return models.Email{} }
func (nopComposer) PasswordReset(models.User) models.Email                 { return models.Email{} }
func (nopComposer) Invitation(models.Invitation, models.User) models.Email { return models.Email{} }
func (nopComposer) InvitationReminder(models.Invitation, models.User) models.Email {
	return models.Email{}
}
func (nopComposer) InviteeJoined(models.User, models.User) models.Email { return models.Email{} }
func (nopComposer) InvitationBounced(models.Invitation, models.User) models.Email {
	return models.Email{}
}
func (nopComposer) RequestConfirmation(string) models.Email     { return models.Email{} }
func (nopComposer) RequestDeclined(string, string) models.Email { return models.Email{} }

// state is every user's allocation, as text, for comparing databases.
func state(t *testing.T, path string) string {
	t.Helper()
	db, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT username, allocated, unlimited, held FROM users JOIN allocations ON user_id = id ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b bytes.Buffer
	for rows.Next() {
		var name string
		var allocated, held int
		var unlimited bool
		rows.Scan(&name, &allocated, &unlimited, &held)
		fmt.Fprintf(&b, "%s:%d/%v/%d ", name, allocated, unlimited, held)
	}
	return b.String()
}

func TestAllocationCommands(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		out   string
		state string
		model func(*models.Staff) (int, error)
	}{
		{[]string{"add-invites", "10"}, "added 10 invitations to 2 users\n", "ann:12/false/1 bob:10/false/0 cid:0/true/0 ",
			func(s *models.Staff) (int, error) { return s.AddToAll(context.Background(), 0, 10, false) }},
		{[]string{"add-invites", "--only-empty", "1"}, "added 1 invitation to 1 user\n", "ann:2/false/1 bob:1/false/0 cid:0/true/0 ",
			func(s *models.Staff) (int, error) { return s.AddToAll(context.Background(), 0, 1, true) }},
		{[]string{"add-invites", "1", "--only-empty"}, "added 1 invitation to 1 user\n", "ann:2/false/1 bob:1/false/0 cid:0/true/0 ", nil},
		{[]string{"topoff-invites", "5"}, "topped off 2 users to 5 invitations left\n", "ann:6/false/1 bob:5/false/0 cid:0/true/0 ",
			func(s *models.Staff) (int, error) { return s.TopOffAll(context.Background(), 0, 5) }},
		{[]string{"topoff-invites", " 1 "}, "topped off 1 user to 1 invitation left\n", "ann:2/false/1 bob:1/false/0 cid:0/true/0 ", nil},
		{[]string{"infinite-invites"}, "gave 2 users unlimited invitations\n", "ann:2/true/1 bob:0/true/0 cid:0/true/0 ",
			func(s *models.Staff) (int, error) { return s.SetUnlimitedAll(context.Background(), 0, true, 0) }},
		{[]string{"infinite-invites", "--off", "3"}, "gave 3 users a plain allocation of 3 invitations\n", "ann:3/false/1 bob:3/false/0 cid:3/false/0 ",
			func(s *models.Staff) (int, error) { return s.SetUnlimitedAll(context.Background(), 0, false, 3) }},
	} {
		path := seedDB(t)
		var out bytes.Buffer
		if err := run(context.Background(), tc.args, env("BECKON_DB", path), nil, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if out.String() != tc.out {
			t.Errorf("%v printed %q; want %q", tc.args, out.String(), tc.out)
		}
		if got := state(t, path); got != tc.state {
			t.Errorf("%v left %s; want %s", tc.args, got, tc.state)
		}
		if tc.model == nil {
			continue
		}
		// The same operation through the model (what the page and the API
		// call) leaves the same state.
		other := seedDB(t)
		db, err := models.Open(other)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tc.model(models.New(db, models.Options{Composer: nopComposer{}}).Staff); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if state(t, other) != tc.state {
			t.Errorf("%v: the model call left %s", tc.args, state(t, other))
		}
	}
}

func TestAllocationCommandsRefuseBadArguments(t *testing.T) {
	path := seedDB(t)
	before := state(t, path)
	for _, args := range [][]string{
		{"add-invites"}, {"add-invites", "0"}, {"add-invites", "1.5"}, {"add-invites", "-1"}, {"add-invites", "1e3"},
		{"add-invites", "1000001"}, {"add-invites", "abc"}, {"add-invites", "1", "2"}, {"add-invites", "--only", "1"},
		{"topoff-invites"}, {"topoff-invites", "-1"}, {"topoff-invites", "x"},
		{"infinite-invites", "5"}, {"infinite-invites", "--off"}, {"infinite-invites", "--off", "x"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), args, env("BECKON_DB", path), nil, io.Discard, &stderr)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v; want a usage error", args, err)
		}
	}
	if state(t, path) != before {
		t.Error("a refused command changed the database")
	}
	// A negative amount is named as such, not as an unknown flag "-1".
	for _, args := range [][]string{{"topoff-invites", "-1"}, {"add-invites", "--only-empty", "-5"}} {
		err := run(context.Background(), args, env("BECKON_DB", path), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "whole number") || strings.Contains(err.Error(), "flag") {
			t.Errorf("%v: %v; want the amount's rule", args, err)
		}
	}
}
