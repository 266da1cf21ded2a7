package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

// env returns a getenv with the given variables and nothing else.
func env(vars ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(vars); i += 2 {
		m[vars[i]] = vars[i+1]
	}
	// PostgreSQL has no folder for the key file: the tests' database
	// (testdb) is given a secret unless the test says which.
	if _, set := m["BECKON_SECRET"]; !set && models.IsPostgresURL(m["BECKON_DB"]) {
		m["BECKON_SECRET"] = testSecret
	}
	return func(k string) string { return m[k] }
}

// testSecret is the BECKON_SECRET of the tests on PostgreSQL.
const testSecret = "test-secret-test-secret-test-secret-0123"

func TestBadConfigurationIsAUsageError(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars []string
		args []string
		want string
	}{
		{"signup", []string{"BECKON_SIGNUP", "sometimes"}, nil, "BECKON_SIGNUP"},
		{"expiry", []string{"BECKON_INVITE_EXPIRY", "-3h"}, nil, "BECKON_INVITE_EXPIRY"},
		{"expiry words", []string{"BECKON_INVITE_EXPIRY", "a week"}, nil, "BECKON_INVITE_EXPIRY"},
		{"allocation", []string{"BECKON_DEFAULT_INVITE_ALLOCATION", "-2"}, nil, "BECKON_DEFAULT_INVITE_ALLOCATION"},
		{"base url", []string{"BECKON_BASE_URL", "localhost:8080"}, nil, "BECKON_BASE_URL"},
		{"addr", []string{"BECKON_ADDR", "8080"}, nil, "BECKON_ADDR"},
		{"rate", []string{"BECKON_INVITE_RATE", "lots"}, nil, "BECKON_INVITE_RATE"},
		{"recipient rate", []string{"BECKON_RECIPIENT_RATE", "-1"}, nil, "BECKON_RECIPIENT_RATE"},
		{"join rate", []string{"BECKON_JOIN_RATE", "-5"}, nil, "BECKON_JOIN_RATE"},
		{"proxy name", []string{"BECKON_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"}, nil, `BECKON_TRUSTED_PROXIES: "proxy.local" is not a CIDR`},
		{"proxy bits", []string{"BECKON_TRUSTED_PROXIES", "10.0.0.0/33"}, nil, `BECKON_TRUSTED_PROXIES: "10.0.0.0/33" is not a CIDR`},
		{"proxy flag", nil, []string{"serve", "-trusted-proxies", "10.1/16"}, "BECKON_TRUSTED_PROXIES"},
		{"min age", []string{"BECKON_INVITE_MIN_AGE", "-1h"}, nil, "BECKON_INVITE_MIN_AGE"},
		{"earn after", []string{"BECKON_EARN_AFTER", "soon"}, nil, "BECKON_EARN_AFTER"},
		{"earn amount", []string{"BECKON_EARN_AMOUNT", "0"}, nil, "BECKON_EARN_AMOUNT"},
		{"min age flag", nil, []string{"serve", "-invite-min-age", "a week"}, "BECKON_INVITE_MIN_AGE"},
		{"mail from", []string{"BECKON_MAIL_FROM", "nobody"}, nil, "BECKON_MAIL_FROM"},
		{"smtp", []string{"BECKON_SMTP_URL", "http://user:hunter2@x"}, nil, "BECKON_SMTP_URL"},
		{"flag", nil, []string{"serve", "-signup", "closed"}, "BECKON_SIGNUP"},
		{"unknown flag", nil, []string{"serve", "-nope"}, "not defined"},
		{"unknown command", nil, []string{"frobnicate"}, "unknown command"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, env(tc.vars...), strings.NewReader(""), io.Discard, &stderr)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%s: %v; want a usage error", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("%s: message %q lacks %q", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the message repeats a password", tc.name)
		}
	}
}

func TestCreateUserAndGrant(t *testing.T) {
	db := testdb.DSN(t, "beckon.db")
	getenv := env("BECKON_DB", db)
	ctx := context.Background()
	var out bytes.Buffer
	err := run(ctx, []string{"createuser", "--email", "Ops@Example.com", "--username", "ops", "--staff"}, getenv,
		strings.NewReader("a long password\n"), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "created staff @ops <Ops@Example.com> (id 1)\n" {
		t.Errorf("createuser printed %q", got)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
	}{
		{[]string{"createuser", "--email", "x@example.com", "--username", "xx1"}, ""},                      // no password
		{[]string{"createuser", "--email", "x@example.com", "--username", "xx1"}, "short\n"},               // weak
		{[]string{"createuser", "--email", "ops@example.com", "--username", "other"}, "a long password\n"}, // taken
		{[]string{"createuser", "--email", "bad", "--username", "xx1"}, "a long password\n"},
		{[]string{"grant", "manage_invites"}, ""},
		{[]string{"grant", "superpowers", "ops@example.com"}, ""},
		{[]string{"grant", "manage_invites", "ghost@example.com"}, ""},
	} {
		err := run(ctx, tc.args, getenv, strings.NewReader(tc.stdin), io.Discard, io.Discard)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v; want a usage error", tc.args, err)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"grant", "manage_invites", "OPS@example.com"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "granted manage_invites to @ops <Ops@Example.com>\n" {
		t.Errorf("grant printed %q", got)
	}
	out.Reset()
	if err := run(ctx, []string{"expire-invitations"}, getenv, nil, &out, io.Discard); err != nil || out.String() != "expired 0 invitations\n" {
		t.Errorf("expire-invitations: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := run(ctx, []string{"migrate"}, getenv, nil, &out, io.Discard); err != nil || out.String() != "database is up to date\n" {
		t.Errorf("migrate: %q, %v", out.String(), err)
	}
}

// syncBuffer is a bytes.Buffer safe to write from the server while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServePrintsSetupURLAndShutsDownGracefully(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	getenv := env("BECKON_DB", testdb.DSN(t, filepath.Join("data", "beckon.db")), "BECKON_ADDR", "127.0.0.1:0",
		"BECKON_BASE_URL", "http://beckon.test")
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, nil, &stdout, &stderr) }()

	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == "" && time.Now().Before(deadline); {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if addr == "" {
		t.Fatalf("server did not start:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "Create the first administrator: http://beckon.test/setup") {
		t.Errorf("stdout lacks the setup URL: %q", stdout.String())
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("healthz = %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("serve did not stop")
	}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	var last string
	for sc.Scan() {
		last = sc.Text()
	}
	if !strings.Contains(last, "stopped") {
		t.Errorf("last log line %q; want the stop", last)
	}
}

func TestTokenCreate(t *testing.T) {
	db := testdb.DSN(t, "beckon.db")
	getenv := env("BECKON_DB", db)
	ctx := context.Background()
	if err := run(ctx, []string{"createuser", "--email", "ops@example.com", "--username", "ops"}, getenv,
		strings.NewReader("a long password\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"token", "create", "OPS@example.com", "--name", "deploy"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}\n$`).MatchString(out.String()) {
		t.Errorf("token create printed %q; want the token alone", out.String())
	}
	for _, args := range [][]string{{"token"}, {"token", "list"}, {"token", "create"}, {"token", "create", "ghost@example.com"},
		{"token", "create", "ops"}, {"token", "create", "ops@example.com", "extra"}, {"token", "create", "ops@example.com", "--name", ""}} {
		var ue usageError
		if err := run(ctx, args, getenv, nil, io.Discard, io.Discard); !errors.As(err, &ue) {
			t.Errorf("%v: %v; want a usage error", args, err)
		}
	}
}

func TestSweepRunsEveryPeriodicJob(t *testing.T) {
	ctx := context.Background()
	dbPath := testdb.DSN(t, "beckon.db")
	db, err := models.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	// Forty days ago: ann invites bea, who joins, and cat, who never does.
	then := time.Now().Add(-40 * 24 * time.Hour)
	store := models.New(db, models.Options{Now: func() time.Time { return then }, Argon: models.CheapArgon, DefaultAllocation: 2,
		Composer: mail.Composer{SiteName: "Beckon", BaseURL: "http://x"}})
	ann, err := store.Users.Create(ctx, models.NewUser{Email: "ann@example.com", Username: "ann", Password: "a long password", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"bea@example.com", "cat@example.com"} {
		if _, _, err := store.Invitations.Create(ctx, ann.ID, to, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	due, _ := store.Outbox.Due(ctx, 10)
	minted, err := store.Outbox.MintTokens(ctx, due)
	if err != nil || len(minted) != 2 {
		t.Fatalf("minted %d, %v", len(minted), err)
	}
	if _, _, err := store.Invitations.Join(ctx, minted[0].Token, models.NewUser{Email: "bea@example.com", Username: "bea", Password: "a long password"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	getenv := env("BECKON_DB", dbPath, "BECKON_EARN_AFTER", "720h", "BECKON_EARN_AMOUNT", "3")
	var out bytes.Buffer
	if err := run(ctx, []string{"sweep"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "expired 1 invitation; reminded 0 invitations; earned invitations for 1 member through 1 invitee; deleted the bodies of 0 old emails\n"; got != want {
		t.Errorf("first sweep printed %q; want %q", got, want)
	}
	out.Reset()
	if err := run(ctx, []string{"sweep"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "expired 0 invitations; reminded 0 invitations; earned invitations for 0 members through 0 invitees; deleted the bodies of 0 old emails\n"; got != want {
		t.Errorf("second sweep printed %q; want %q", got, want)
	}
	var ue usageError
	if err := run(ctx, []string{"sweep", "now"}, getenv, nil, io.Discard, io.Discard); !errors.As(err, &ue) {
		t.Errorf("sweep with an argument: %v; want a usage error", err)
	}
	if err := run(ctx, []string{"sweep"}, env("BECKON_DB", dbPath, "BECKON_EARN_AFTER", "a month"), nil, io.Discard, io.Discard); !errors.As(err, &ue) {
		t.Errorf("a bad BECKON_EARN_AFTER: %v; want a usage error", err)
	}
	db, err = models.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var allocated int
	if err := db.QueryRow(`SELECT allocated FROM allocations WHERE user_id = ?`, ann.ID).Scan(&allocated); err != nil || allocated != 5 {
		t.Errorf("ann's allocation %d, %v; want 2 + 3 earned", allocated, err)
	}
}
