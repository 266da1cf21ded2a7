package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// suspendedOf reads whether the member is suspended and how many of their
// invitations are pending.
func suspendedOf(t *testing.T, path, username string) (suspended bool, pending int) {
	t.Helper()
	db, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM moderation m JOIN users u ON u.id = m.user_id
		WHERE u.username = ? AND m.suspended_at IS NOT NULL),
		(SELECT count(*) FROM invitations i JOIN users u ON u.id = i.inviter_id WHERE u.username = ? AND i.status = 'pending')`,
		username, username).Scan(&suspended, &pending); err != nil {
		t.Fatal(err)
	}
	return suspended, pending
}

func TestSuspendAndUnsuspendCommands(t *testing.T) {
	path := seedDB(t) // ann holds one pending invitation
	ctx := context.Background()
	for _, tc := range []struct {
		args      []string
		out       string
		suspended bool
	}{
		{[]string{"suspend", "ann@example.com", "--reason", "Spam"}, "suspended @ann <ann@example.com>: revoked 1 pending invitation and 0 API tokens\n", true},
		{[]string{"suspend", "--reason", "Again", "ANN@example.com"}, "@ann <ann@example.com> was already suspended; nothing changed\n", true},
		{[]string{"unsuspend", "ann@example.com"}, "unsuspended @ann <ann@example.com>: they can sign in again\n", false},
		{[]string{"unsuspend", "ann@example.com", "--reason", "Appeal"}, "@ann <ann@example.com> was not suspended; nothing changed\n", false},
	} {
		var out bytes.Buffer
		if err := run(ctx, tc.args, env("BECKON_DB", path), nil, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if out.String() != tc.out {
			t.Errorf("%v printed %q; want %q", tc.args, out.String(), tc.out)
		}
		if got, pending := suspendedOf(t, path, "ann"); got != tc.suspended || pending != 0 {
			t.Errorf("after %v: suspended %v, %d pending; want %v, 0", tc.args, got, pending, tc.suspended)
		}
	}
	// The audit log has the operator (no staff member) and the reasons.
	db, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, _, err := models.New(db, models.Options{Composer: nopComposer{}}).Staff.Audit(ctx, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 4 || entries[3].Action != models.ActionSuspend || entries[3].Reason != "Spam" || entries[3].ActorID != 0 ||
		entries[0].Reason != "Appeal" {
		t.Errorf("audit entries %+v", entries)
	}
}

func TestSuspendCommandsRefuseBadArguments(t *testing.T) {
	path := seedDB(t)
	for _, args := range [][]string{
		{"suspend"}, {"suspend", "ann@example.com"}, {"suspend", "ann@example.com", "--reason", ""},
		{"suspend", "ann@example.com", "--reason", string(make([]byte, 501))},
		{"suspend", "nobody@example.com", "--reason", "x"}, {"suspend", "ann@example.com", "bob@example.com", "--reason", "x"},
		{"suspend", "--reason"}, {"suspend", "ann@example.com", "--why", "x"},
		{"unsuspend"}, {"unsuspend", "nobody@example.com"}, {"unsuspend", "ann@example.com", "extra"},
	} {
		err := run(context.Background(), args, env("BECKON_DB", path), nil, io.Discard, io.Discard)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v; want a usage error", args, err)
		}
	}
	if suspended, pending := suspendedOf(t, path, "ann"); suspended || pending != 1 {
		t.Error("a refused command changed the database")
	}
}
